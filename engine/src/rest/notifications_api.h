// /api/v1/notifications: the outbox per target, dead letters, redelivery.
#pragma once

#include "notify/notifier.h"
#include "triaged/api/http.h"

namespace triaged::engine {

void addNotificationRoutes(api::Router& router, Notifier& notifier);

}  // namespace triaged::engine
