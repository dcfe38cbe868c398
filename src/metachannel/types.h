// Small helpers over the shared vocabulary (vocabulary.h). Its names as text are the JS layer's
// business (js/vocabulary.ts); the native tests spell them with tests/native/fakes.h.
#pragma once
#include <cstdint>

#include "metachannel/vocabulary.h"

namespace mc {

// Whether a close code may be passed to WebSocket.close(): 1000 or 3000-4999.
bool is_sendable_close_code(int code);

// The tag of the option structs' constructor that leaves their values zero (no default stored
// only to be overwritten): the wasm build's config_from (bindings/bindings.cpp) sets every one.
struct Unset {};

}  // namespace mc

// MC_UNSET_MEMBERS(group): `member(),` for each option of the struct `group` (vocabulary.h's
// lists), for the Unset constructors' initialiser lists.
#define MC_UNSET_MEMBER_(want, wire, path, group, member, ...) MC_IF_GROUP(want, group)(member(), )
#define MC_UNSET_MEMBER_config(...) MC_UNSET_MEMBER_(config, __VA_ARGS__)
#define MC_UNSET_MEMBER_reconnect(...) MC_UNSET_MEMBER_(reconnect, __VA_ARGS__)
#define MC_UNSET_MEMBER_heartbeat(...) MC_UNSET_MEMBER_(heartbeat, __VA_ARGS__)
#define MC_UNSET_MEMBER_queue(...) MC_UNSET_MEMBER_(queue, __VA_ARGS__)
#define MC_UNSET_MEMBERS(group)                      \
  MC_NUMBER_OPTIONS(MC_CAT(MC_UNSET_MEMBER_, group)) \
  MC_BOOL_OPTIONS(MC_CAT(MC_UNSET_MEMBER_, group))   \
  MC_STRING_OPTIONS(MC_CAT(MC_UNSET_MEMBER_, group))
