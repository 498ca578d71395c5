// Runs body(i) for i in [0, n) on `threads` threads (the caller's included), each taking
// the next index from a shared counter. body must not throw: callers keep per-item errors
// and report the first in input order themselves.
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace omlkit::attribution {

template <typename Body>
void parallel_for(size_t n, unsigned threads, const Body& body) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) body(i);
  };
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads && t < n; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& h : helpers) h.join();
}

}  // namespace omlkit::attribution
