// Keeps bbans_core a valid library while src/ has no other sources yet.
