// Names of the shared vocabulary (defined in vocabulary.h) and small helpers over it.
#pragma once
#include <cstdint>

#include "metachannel/vocabulary.h"

namespace mc {

const char* to_string(State s);
const char* to_string(ErrorCode c);
// readyState as the WebSocket API reports it (0 connecting, 1 open, 2 closing, 3 closed).
int ready_state(State s);

// Whether a close code may be passed to WebSocket.close(): 1000 or 3000-4999.
bool is_sendable_close_code(int code);

}  // namespace mc
