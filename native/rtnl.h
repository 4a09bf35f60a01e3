// rtnlBatches: rtnetlink datagrams sent and answered on a libuv pool thread (see rtnl.c).
#pragma once
#include <node_api.h>
napi_value rtnl_batches(napi_env env, napi_callback_info info);
