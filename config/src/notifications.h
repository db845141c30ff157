// Reading the notifications section of the configuration (loader.cpp reads the rest).
#pragma once

#include "triaged/config/config.h"
#include "triaged/config/reader.h"

namespace triaged::config {

// notifications.targets and notifications.policies into c; errors go to root's sink.
void readNotifications(MapReader& root, Config& c);

}  // namespace triaged::config
