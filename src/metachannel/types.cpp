#include "metachannel/types.h"

namespace mc {

bool is_sendable_close_code(int code) { return code == 1000 || (code >= 3000 && code <= 4999); }

}  // namespace mc
