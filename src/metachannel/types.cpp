#include "metachannel/types.h"

namespace mc {

const char* to_string(State s) {
  switch (s) {
#define MC_X(name, text, ready) \
  case State::name: return text;
    MC_STATES(MC_X)
#undef MC_X
  }
  return "closed";
}

const char* to_string(ErrorCode c) {
  switch (c) {
#define MC_X(name, text, doc) \
  case ErrorCode::name: return text;
    MC_ERROR_CODES(MC_X)
#undef MC_X
  }
  return "";
}

int ready_state(State s) {
  switch (s) {
#define MC_X(name, text, ready) \
  case State::name: return ready;
    MC_STATES(MC_X)
#undef MC_X
  }
  return 3;
}

bool is_sendable_close_code(int code) { return code == 1000 || (code >= 3000 && code <= 4999); }

}  // namespace mc
