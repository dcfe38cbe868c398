// Small helpers over the shared vocabulary (vocabulary.h). Its names as text are the JS layer's
// business (js/vocabulary.ts); the native tests spell them with tests/native/fakes.h.
#pragma once
#include <cstdint>

#include "metachannel/vocabulary.h"

namespace mc {

// Whether a close code may be passed to WebSocket.close(): 1000 or 3000-4999.
bool is_sendable_close_code(int code);

}  // namespace mc
