// Where an `attribute` call's time goes, for bench/attribute.sh (PROFILE=1): the calls'
// outputs are tokenized, matched and credited in one process, ROUNDS times over, each stage
// timed by the thread's CPU clock, so the machine's other load counts less than in wall
// time. The longest-prefix stage also runs on its own, both ways in alternating passes: the
// walk (SuffixIndex::longest_prefixes, what attribute uses) and one search per position
// (longest_prefixes_by_search, the reference); their results must be equal on every call.
//   attribute_profile INDEX CALLS.jsonl [ROUNDS]
#include <time.h>

#include <cstdio>
#include <string>
#include <vector>

#include "attribution/credit.h"
#include "attribution/datanet.h"
#include "attribution/span_matcher.h"
#include "io/error.h"
#include "io/line_reader.h"
#include "json/value.h"

using namespace omlkit;
using namespace omlkit::attribution;

namespace {

double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: attribute_profile INDEX CALLS.jsonl [ROUNDS]\n");
    return 64;
  }
  try {
    Datanet net = Datanet::open({argv[1]});
    int rounds = argc > 3 ? std::stoi(argv[3]) : 5;
    std::vector<std::string> outputs;
    io::LineReader reader(argv[2]);
    std::string_view line;
    while (reader.next(&line)) outputs.push_back(json::parse(line, reader.where()).find("output")->text());
    const size_t calls = outputs.size();
    MatchOptions options;  // attribute's defaults
    std::vector<std::vector<uint32_t>> texts;
    for (const std::string& output : outputs) {
      std::vector<int32_t> ids = net.tokenizer().encode(output);
      texts.emplace_back(ids.begin(), ids.end());
    }
    // Each pass goes over every call once, so a call's index pages are as cold in one
    // pass as in another (the calls' working set is far larger than the caches).
    double tokenize = 0, walk = 0, search = 0, spans_s = 0, credit = 0;
    uint64_t positions = 0, spans_found = 0;
    std::vector<std::vector<size_t>> walked(calls);
    for (int round = 0; round < rounds; ++round) {
      for (size_t c = 0; c < calls; ++c) {
        double t0 = thread_seconds();
        std::vector<int32_t> ids = net.tokenizer().encode(outputs[c]);
        double t1 = thread_seconds();
        std::vector<Span> spans = find_spans(net.shards(), texts[c], options);
        double t2 = thread_seconds();
        auto weights = credit_contributors(spans);
        double t3 = thread_seconds();
        tokenize += t1 - t0, spans_s += t2 - t1, credit += t3 - t2;
        spans_found += spans.size();
      }
      for (int pass = 0; pass < 2; ++pass) {
        bool walking = (pass + round) % 2 == 0;  // alternate which pass goes first
        double t0 = thread_seconds();
        for (size_t c = 0; c < calls; ++c) {
          const std::vector<uint32_t>& tokens = texts[c];
          size_t count = tokens.size() >= options.min_span ? tokens.size() - options.min_span + 1 : 0;
          std::vector<size_t> longest(count, 0);
          for (const auto& shard : net.shards()) {
            if (walking)
              shard->longest_prefixes(tokens, count, longest.data());
            else
              shard->longest_prefixes_by_search(tokens, count, longest.data());
          }
          if (walking) {
            walked[c] = std::move(longest);
            positions += count;
          } else if (round == 0 && pass == 1 && longest != walked[c]) {
            std::fprintf(stderr, "attribute_profile: the walk and the searches differ on call %zu: %s\n", c + 1,
                         outputs[c].c_str());
            return 70;
          } else if (round > 0 && longest != walked[c]) {
            std::fprintf(stderr, "attribute_profile: the walk and the searches differ on call %zu\n", c + 1);
            return 70;
          }
        }
        (walking ? walk : search) += thread_seconds() - t0;
      }
    }
    double per_call = 1e6 / double(rounds * calls);
    std::printf("calls %zu x %d rounds, %.1f positions and %.1f maximal spans per call; us per call (thread CPU):\n",
                calls, rounds, double(positions) / double(rounds * calls), double(spans_found) / double(rounds * calls));
    std::printf("  tokenize %.1f\n  find_spans %.1f, of which longest prefixes: walk %.1f (one search per position "
                "%.1f, equal on every call)\n  credit %.1f\n",
                tokenize * per_call, spans_s * per_call, walk * per_call, search * per_call, credit * per_call);
  } catch (const Error& e) {
    std::fprintf(stderr, "attribute_profile: %s\n", e.what());
    return e.code();
  }
  return 0;
}
