// `triaged ctl`: a command-line client of a running triaged's HTTP API, in the spirit of
// amtool: incidents, alerts, silences, services and reports, as tables for people or the
// API's JSON for scripts (docs/operations.md, "triaged ctl").
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <memory>

namespace triaged::engine {

// Exit codes of `triaged ctl`.
enum CtlExit : int {
  kCtlOk = 0,
  kCtlRefused = 1,      // triaged answered with an error (4xx, 5xx): the message names why
  kCtlUsage = 2,        // bad arguments (also CLI11's own parse errors)
  kCtlUnreachable = 3,  // no answer: connection refused, timeout, TLS failure
};

class CtlCommand {
 public:
  // Adds `ctl` and its subcommands to app.
  explicit CtlCommand(CLI::App& app);
  ~CtlCommand();
  bool selected() const;
  // Runs the selected subcommand: answers on out, errors on err.
  int run(std::ostream& out, std::ostream& err);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace triaged::engine
