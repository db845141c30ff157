// The registration every output plugin repeats: a type, a description, and targets that are
// instances of T(const NotificationTarget&). Validation and a default URL are set on the result.
#pragma once

#include <memory>
#include <string>

#include "triaged/api/output.h"

namespace triaged::plugins {

// An output plugin of type `type` whose targets are instances of T(const NotificationTarget&).
template <class T>
api::OutputPlugin outputPlugin(std::string type, std::string description) {
  api::OutputPlugin p;
  p.type = std::move(type);
  p.description = std::move(description);
  p.create = [](const config::NotificationTarget& t) -> std::unique_ptr<api::Output> {
    return std::make_unique<T>(t);
  };
  return p;
}

}  // namespace triaged::plugins
