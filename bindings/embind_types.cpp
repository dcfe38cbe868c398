// The Embind types the boundary uses, registered here instead of by Embind's bind.cpp.
//
// Embind's own bind.cpp (in libembind.a) registers every built-in type from a constructor:
// void, bool, nine integers, int64/uint64 as BigInt, float, double, std::string and
// basic_string<unsigned char>, std::wstring/u16string/u32string, emscripten::val and 23
// memory_view types. Each registration is a wasm import whose JS comes into the glue (the UTF-16
// and UTF-32 converters, the emval handle table, the memory-view decoders, BigInt), and its
// __getTypeName formats with sprintf("%p"), which keeps musl's printf_core in the wasm. The
// boundary (bindings.cpp: validateUrl, redactUrl, VOCABULARY_DIGEST, RELIABILITY) needs
// three of those types: bool, double and std::string. Defining __getTypeName here means the linker never pulls
// bind.o out of libembind.a (nothing else in it is referenced), so only these three are registered. A type used at the
// boundary but not registered here fails loudly when the module starts (Embind's BindingError "... has unknown type
// ..." from a function's registration), which every test that loads the wasm would show.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" {
// Embind's JS asks for a type's name only to word a BindingError (readLatin1String, then free).
// Without RTTI or type names (EMSCRIPTEN_HAS_UNBOUND_TYPE_NAMES=0) that name is the TYPEID's
// address: "0x" and eight hex digits, formatted without printf.
EMSCRIPTEN_KEEPALIVE const char* __getTypeName(const void* type) {
  char* s = static_cast<char*>(std::malloc(11));
  if (!s) return nullptr;
  auto v = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(type));
  s[0] = '0';
  s[1] = 'x';
  for (int i = 9; i >= 2; --i, v >>= 4) s[i] = "0123456789abcdef"[v & 15];
  s[10] = '\0';
  return s;
}
}

namespace {
__attribute__((constructor)) void register_boundary_types() {
  using namespace emscripten::internal;
  _embind_register_bool(TypeID<bool>::get(), "bool", sizeof(bool), true, false);
  _embind_register_float(TypeID<double>::get(), "double", sizeof(double));
  _embind_register_std_string(TypeID<std::string>::get(), "std::string");
}
}  // namespace
