#pragma once
// Ordered parallel work: item i is made by work(i) on up to `threads` threads at once, and
// handed to take(i, result) on the calling thread in the order 0, 1, 2, ... So the consumer
// sees the same sequence whatever the thread count, and at most `threads` results exist at a
// time (memory is bounded by threads x one item). threads <= 1 runs everything on the calling
// thread. The first error (from work or take) stops the pipeline; work already started is
// waited for, never abandoned.
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <new>
#include <string>

#include "bbans/expected.hpp"

namespace bbans::archive {

template <class R>
Status ordered_parallel(std::size_t n, unsigned threads, const std::function<Expected<R>(std::size_t)>& work,
                        const std::function<Status(std::size_t, R&&)>& take) {
    auto guarded = [&work](std::size_t i) -> Expected<R> {
        try {
            return work(i);
        } catch (const std::bad_alloc&) {
            return make_error("out of memory");
        } catch (const std::exception& e) {
            return make_error(std::string("internal error: ") + e.what());
        }
    };
    if (threads <= 1) {
        for (std::size_t i = 0; i < n; ++i) {
            auto r = guarded(i);
            if (!r) return r.error();
            if (auto ok = take(i, std::move(*r)); !ok) return ok;
        }
        return Ok{};
    }
    // One thread per item in flight, joined in order (no std::future: GCC 12 misreports a
    // free-nonheap-object through its result storage).
    struct Slot {
        std::optional<Expected<R>> result;
        std::thread thread;
    };
    std::deque<std::unique_ptr<Slot>> pending;
    std::size_t next = 0, taken = 0;
    Status status = Ok{};
    while (taken < n) {
        while (status && next < n && pending.size() < threads) {
            std::unique_ptr<Slot> slot;
            try {
                slot = std::make_unique<Slot>();
                pending.emplace_back();  // room first: push_back after starting a thread could throw
            } catch (const std::bad_alloc&) {
                status = make_error("out of memory");
                break;
            }
            Slot* raw = slot.get();
            const std::size_t i = next;
            try {
                slot->thread = std::thread([raw, i, &guarded] { raw->result.emplace(guarded(i)); });
            } catch (const std::system_error&) {
                if (pending.size() > 1) {  // no thread to be had now: wait for one to finish
                    pending.pop_back();
                    break;
                }
                raw->result.emplace(guarded(i));  // none in flight: run it here
            }
            pending.back() = std::move(slot);
            ++next;
        }
        if (pending.empty()) break;
        std::unique_ptr<Slot> slot = std::move(pending.front());
        pending.pop_front();
        if (slot->thread.joinable()) slot->thread.join();
        if (status) {
            if (!*slot->result) {
                status = slot->result->error();
            } else {
                try {  // (an exception here would leave threads running: it becomes an error)
                    status = take(taken, std::move(**slot->result));
                } catch (const std::bad_alloc&) {
                    status = make_error("out of memory");
                } catch (const std::exception& e) {
                    status = make_error(std::string("internal error: ") + e.what());
                }
            }
        }
        ++taken;
        if (!status && pending.empty()) break;
    }
    return status;
}

}  // namespace bbans::archive
