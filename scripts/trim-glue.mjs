// The release glue without the parts this package never runs (scripts/build.mjs calls trimGlue()
// on emcc's output before bundling it).
//
// js/loader.ts always starts the core through the glue's `instantiateWasm` hook (it fetches or
// reads and compiles the wasm itself), and calls the core's exports only after ready(). So three
// things emcc 3.1.6 writes into every MODULARIZE glue are dead weight here:
// - the environment block that finds the script's directory and defines XHR readers
//   (read_, readAsync, readBinary, setWindowTitle): only the glue's own fetch used them;
// - that fetch: wasmBinaryFile, isDataURI, getBinary, getBinaryPromise, instantiateArrayBuffer,
//   instantiateAsync (6. then calls the hook without a fallback);
// - one lazy wrapper per wasm export (`var _f=Module["_f"]=function(){return(_f=Module["_f"]=
//   Module["asm"]["x"]).apply(null,arguments)}`, 35 of them, 5.7 KB before minification),
//   there so that a call made before instantiation fails late: here the exports are set on
//   Module (and on the glue's own variables that use them) when the instance arrives.
// And Embind's JS runtime keeps only what the surface uses (3. and 7. below: two functions,
// two constants, three types, all registered at start-up).
// The start-up itself is the one path the loader takes (6.).
// Every edit must find its text exactly once, or the build stops and names it: a different
// emcc (or a new setting) is a deliberate change, to be looked at, never silently half-trimmed.
// The debug build keeps its glue whole (its ASSERTIONS checks wrap these same parts).

/** Index of the `}` closing the block whose `{` is at `open` (strings and regexes without braces assumed, as in emcc's output here). */
function closingBrace(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i = text.indexOf(c, i + 1);
      if (i === -1) break;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  throw new Error("trim-glue: unbalanced braces");
}

function once(text, needle, what) {
  const at = text.indexOf(needle);
  if (at === -1 || text.indexOf(needle, at + 1) !== -1) {
    throw new Error(
      `trim-glue: ${what}: expected "${needle.slice(0, 80)}" exactly once in emcc's glue (emcc 3.1.6 output); did the Emscripten release or a link setting change? See scripts/trim-glue.mjs`,
    );
  }
  return at;
}

/** Removes `function name(...){...}` (exactly one). */
function dropFunction(text, name) {
  const at = once(text, `function ${name}(`, `function ${name}`);
  const end = closingBrace(text, text.indexOf("{", at));
  return text.slice(0, at) + text.slice(end + 1);
}

function replaceOnce(text, from, to, what) {
  const at = once(text, from, what);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Each [from, to, what] of `edits`, in order, by replaceOnce (every `from` exactly once). */
function replaceEach(text, edits) {
  for (const [from, to, what] of edits) text = replaceOnce(text, from, to, what);
  return text;
}

/** Removes `function name(...){...}` for each name (each exactly once). */
function dropFunctions(text, names) {
  for (const name of names) text = dropFunction(text, name);
  return text;
}

/**
 * Throws if one of `names`, removed above, is still referenced as an identifier; with `member`
 * (the default) a `.name` member or a `"name"` key does not count as one.
 */
function assertGone(text, names, { member = true } = {}) {
  for (const name of names) {
    const use = member ? new RegExp(`(^|[^\\w$."])${name}(?![\\w$"])`) : new RegExp(`(^|[^\\w$])${name}(?![\\w$])`);
    if (use.test(text)) throw new Error(`trim-glue: ${name} is still used after its removal (emcc 3.1.6 output); see scripts/trim-glue.mjs`);
  }
}

/** @returns {{ text: string, removed: number, exports: number }} */
export function trimGlue(glue, jsReads = new Set()) {
  let text = glue;
  const before = text.length;

  // 1. The environment block (scriptDirectory, XHR readers, setWindowTitle).
  {
    const start = once(text, "var read_,readAsync,readBinary,setWindowTitle;if(ENVIRONMENT_IS_WEB||ENVIRONMENT_IS_WORKER){", "environment block");
    const open = text.indexOf("{", start + "var read_,readAsync,readBinary,setWindowTitle;if(ENVIRONMENT_IS_WEB||ENVIRONMENT_IS_WORKER)".length);
    let end = closingBrace(text, open) + 1;
    if (text.startsWith("else{}", end)) end += "else{}".length;
    text = text.slice(0, start) + text.slice(end);
  }

  // 2. The glue's own fetch and instantiation.
  text = replaceOnce(
    text,
    'var wasmBinaryFile;wasmBinaryFile="metachannel_core.wasm";if(!isDataURI(wasmBinaryFile)){wasmBinaryFile=locateFile(wasmBinaryFile)}',
    "",
    "wasmBinaryFile",
  );
  text = replaceOnce(text, 'var dataURIPrefix="data:application/octet-stream;base64,";', "", "dataURIPrefix");
  text = dropFunctions(text, ["isDataURI", "getBinary", "getBinaryPromise", "instantiateArrayBuffer", "instantiateAsync", "receiveInstantiationResult"]);
  text = replaceOnce(
    text,
    "instantiateAsync().catch(readyPromiseReject);return{}",
    'readyPromiseReject(new Error("metachannel: the core starts only through its loader (instantiateWasm)"));return{}',
    "the glue's own instantiation",
  );

  // 3. Embind's runtime without the features the surface does not use. The boundary is two
  // functions and two constants (bindings/bindings.cpp) over three types (bool, double,
  // std::string; bindings/embind_types.cpp), registered while the module starts, so:
  // - no overloads and no name registered twice: a function is set on Module once its types are
  //   there (no overload tables, no "unbound types" stand-in and its type-name lookup);
  // - no 64-bit integer in a signature: no legacy dynCall path (a "j" signature fails loudly);
  // - no value read from memory by type (value_object, value_array, emval, class members):
  //   no readValueFromPointer on the three types;
  // - std::string only as UTF-8 text from and to JS strings (no Latin-1 or byte-array forms);
  // - the error classes only thrown, never exported on Module, and named without the
  //   legal-name rewrite that only eval-built functions (DYNAMIC_EXECUTION) read.
  text = replaceEach(text, [
    [
      'exposePublicSymbol(name,function(){throwUnboundTypeError("Cannot call "+name+" due to unbound types",argTypes)},argCount-1);whenDependentTypesAreResolved([],argTypes,function(argTypes){var invokerArgsArray=[argTypes[0],null].concat(argTypes.slice(1));replacePublicSymbol(name,craftInvokerFunction(name,invokerArgsArray,null,rawInvoker,fn),argCount-1);return[]})',
      "whenDependentTypesAreResolved([],argTypes,function(argTypes){Module[name]=craftInvokerFunction(name,argTypes,rawInvoker,fn);return[]})",
      "Embind's function registration",
    ],
    [
      'function makeDynCaller(){if(signature.includes("j")){return getDynCaller(signature,rawFunction)}return getWasmTableEntry(rawFunction)}var fp=makeDynCaller();',
      'var fp=signature.includes("j")?null:getWasmTableEntry(rawFunction);',
      "embind__requireFunction",
    ],
    ['"readValueFromPointer":floatReadValueFromPointer(name,shift),', "", "float's readValueFromPointer"],
    [
      '"readValueFromPointer":function(pointer){var heap;if(size===1){heap=HEAP8}else if(size===2){heap=HEAP16}else if(size===4){heap=HEAP32}else{throw new TypeError("Unknown boolean type size: "+name)}return this["fromWireType"](heap[pointer>>shift])},',
      "",
      "bool's readValueFromPointer",
    ],
    ['"readValueFromPointer":simpleReadValueFromPointer,', "", "std::string's readValueFromPointer"],
    [
      "function __embind_register_bool(rawType,name,size,trueValue,falseValue){var shift=getShiftFromSize(size);",
      "function __embind_register_bool(rawType,name,size,trueValue,falseValue){",
      "bool's shift",
    ],
    [
      "function __embind_register_float(rawType,name,size){var shift=getShiftFromSize(size);",
      "function __embind_register_float(rawType,name,size){",
      "float's shift",
    ],
    [
      'var stdStringIsUTF8=name==="std::string";registerType(rawType,{name:name,"fromWireType":function(value){var length=HEAPU32[value>>2];var str;if(stdStringIsUTF8){var decodeStartPtr=value+4;for(var i=0;i<=length;++i){var currentBytePtr=value+4+i;if(i==length||HEAPU8[currentBytePtr]==0){var maxRead=currentBytePtr-decodeStartPtr;var stringSegment=UTF8ToString(decodeStartPtr,maxRead);if(str===undefined){str=stringSegment}else{str+=String.fromCharCode(0);str+=stringSegment}decodeStartPtr=currentBytePtr+1}}}else{var a=new Array(length);for(var i=0;i<length;++i){a[i]=String.fromCharCode(HEAPU8[value+4+i])}str=a.join("")}_free(value);return str},"toWireType":function(destructors,value){if(value instanceof ArrayBuffer){value=new Uint8Array(value)}var getLength;var valueIsOfTypeString=typeof value=="string";if(!(valueIsOfTypeString||value instanceof Uint8Array||value instanceof Uint8ClampedArray||value instanceof Int8Array)){throwBindingError("Cannot pass non-string to std::string")}if(stdStringIsUTF8&&valueIsOfTypeString){getLength=(()=>lengthBytesUTF8(value))}else{getLength=(()=>value.length)}var length=getLength();var ptr=_malloc(4+length+1);HEAPU32[ptr>>2]=length;if(stdStringIsUTF8&&valueIsOfTypeString){stringToUTF8(value,ptr+4,length+1)}else{if(valueIsOfTypeString){for(var i=0;i<length;++i){var charCode=value.charCodeAt(i);if(charCode>255){_free(ptr);throwBindingError("String has UTF-16 code units that do not fit in 8 bits")}HEAPU8[ptr+4+i]=charCode}}else{for(var i=0;i<length;++i){HEAPU8[ptr+4+i]=value[i]}}}if(destructors!==null){destructors.push(_free,ptr)}return ptr},',
      'registerType(rawType,{name:name,"fromWireType":function(value){var length=HEAPU32[value>>2];var str;var decodeStartPtr=value+4;for(var i=0;i<=length;++i){var currentBytePtr=value+4+i;if(i==length||HEAPU8[currentBytePtr]==0){var stringSegment=UTF8ToString(decodeStartPtr,currentBytePtr-decodeStartPtr);if(str===undefined){str=stringSegment}else{str+="\\0"+stringSegment}decodeStartPtr=currentBytePtr+1}}_free(value);return str},"toWireType":function(destructors,value){if(typeof value!="string"){throwBindingError("Cannot pass non-string to std::string")}var length=lengthBytesUTF8(value);var ptr=_malloc(4+length+1);HEAPU32[ptr>>2]=length;stringToUTF8(value,ptr+4,length+1);if(destructors!==null){destructors.push(_free,ptr)}return ptr},',
      "std::string's converters",
    ],
    [
      'BindingError=Module["BindingError"]=extendError(Error,"BindingError");InternalError=Module["InternalError"]=extendError(Error,"InternalError");UnboundTypeError=Module["UnboundTypeError"]=extendError(Error,"UnboundTypeError");',
      'BindingError=extendError(Error,"BindingError");InternalError=extendError(Error,"InternalError");',
      "Embind's error classes",
    ],
    ["var UnboundTypeError=undefined;", "", "UnboundTypeError"],
    [
      "function createNamedFunction(name,body){name=makeLegalFunctionName(name);return function(){null;return body.apply(this,arguments)}}",
      "function createNamedFunction(name,body){return function(){return body.apply(this,arguments)}}",
      "createNamedFunction",
    ],
  ]);
  text = dropFunctions(text, [
    "ensureOverloadTable",
    "exposePublicSymbol",
    "replacePublicSymbol",
    "throwUnboundTypeError",
    "getTypeName",
    "getDynCaller",
    "dynCall",
    "dynCallLegacy",
    "floatReadValueFromPointer",
    "simpleReadValueFromPointer",
    "getShiftFromSize",
    "makeLegalFunctionName",
  ]);
  text = replaceOnce(text, "var char_0=48;var char_9=57;", "", "char_0/char_9");

  // 4. The lazy export wrappers: set the exports when the instance arrives.
  const wrapper = /var ([\w$]+)=Module\["\1"\]=function\(\)\{return\(\1=Module\["\1"\]=Module\["asm"\]\["([\w$]+)"\]\)\.apply\(null,arguments\)\};/g;
  const exports = [];
  text = text.replace(wrapper, (_, name, wasmName) => {
    exports.push([name, wasmName]);
    return "";
  });
  if (exports.length < 10)
    throw new Error(`trim-glue: found ${exports.length} export wrappers, expected dozens (emcc 3.1.6 output); see scripts/trim-glue.mjs`);
  // The glue's own code calls some exports by their variable (_malloc, _free, _mc_out_size, ...).
  const used = exports.filter(([name]) => new RegExp(`(^|[^\\w$."])${name.replace(/\$/g, "\\$")}(?![\\w$"])`).test(text));
  // On Module: the raw exports (`_mc_*`: js/core-glue.d.ts, checked by
  // scripts/gen-glue-types.mjs) that js/ reads from it (`jsReads`), each by a plain property
  // assignment, so that a build that mangles `_mc_` properties (scripts/build.mjs) renames
  // them here and at js/'s call sites alike; the glue's own calls (_malloc, _free, ...) use its
  // variables.
  const onModule = exports.filter(([name]) => name.startsWith("_mc_") && jsReads.has(name));
  const unknown = [...jsReads].filter((name) => !exports.some(([n]) => n === name));
  if (unknown.length) throw new Error(`trim-glue: js/ reads ${unknown.join(", ")} from the core, which the wasm does not export`);
  const assign = [
    ...onModule.map(([name, wasmName]) => `Module.${name}=exports["${wasmName}"];`),
    ...used.map(([name, wasmName]) => `${name}=exports["${wasmName}"];`),
  ].join("");
  text = replaceOnce(text, 'Module["asm"]=exports;', `Module["asm"]=exports;${assign}`, "receiveInstance");
  if (used.length) text = replaceOnce(text, "function createWasm(){", `var ${used.map(([n]) => n).join(",")};function createWasm(){`, "createWasm");

  // 5. Start-up leftovers, and helpers the module has a smaller form of:
  // - the heap views nothing reads (of HEAP8, HEAP16, HEAPU16, HEAPF32: with 3.'s readers
  //   gone, all four), and the Module["HEAP*"] copies of every view (the JS layer reads none:
  //   bindings/library.js uses the glue's own);
  // - the environment flags, scriptDirectory/locateFile and _scriptDir: only the environment
  //   block (1.) read them;
  // - Module.preloadedImages/preloadedAudios (the file packager's; there is no filesystem);
  // - Emscripten's UTF-8 writer (a 40-line loop) and byte counter, used for a socket's
  //   protocol, a close reason and Embind's std::string: TextEncoder, as bindings/library.js
  //   encodes everything else (a lone surrogate becomes U+FFFD there, as in every other text the
  //   module takes).
  // In the order updateGlobalBufferAndViews() makes them.
  const views = [
    ["HEAP8", "Int8Array"],
    ["HEAP16", "Int16Array"],
    ["HEAP32", "Int32Array"],
    ["HEAPU8", "Uint8Array"],
    ["HEAPU16", "Uint16Array"],
    ["HEAPU32", "Uint32Array"],
    ["HEAPF32", "Float32Array"],
    ["HEAPF64", "Float64Array"],
  ];
  const refs = (name) => (text.match(new RegExp(`(^|[^\\w$"])${name}(?![\\w$"])`, "g")) || []).length;
  // Declared, assigned: a view used nowhere else has exactly these two references.
  const unused = new Set(["HEAP8", "HEAP16", "HEAPU16", "HEAPF32"].filter((name) => refs(name) === 2));
  const kept = views.filter(([name]) => !unused.has(name));
  text = replaceOnce(
    text,
    "var buffer,HEAP8,HEAPU8,HEAP16,HEAPU16,HEAP32,HEAPU32,HEAPF32,HEAPF64;",
    `var buffer,${kept.map(([name]) => name).join(",")};`,
    "the heap views' declaration",
  );
  text = replaceOnce(
    text,
    `function updateGlobalBufferAndViews(buf){buffer=buf;${views.map(([name, type]) => `Module["${name}"]=${name}=new ${type}(buf)`).join(";")}}`,
    `function updateGlobalBufferAndViews(buf){buffer=buf;${kept.map(([name, type]) => `${name}=new ${type}(buf)`).join(";")}}`,
    "updateGlobalBufferAndViews",
  );
  // Start-up leftovers nothing reads once the environment block (1.) is gone: [text, what].
  for (const [leftover, what] of [
    [
      'var ENVIRONMENT_IS_WEB=typeof window=="object";var ENVIRONMENT_IS_WORKER=typeof importScripts=="function";var ENVIRONMENT_IS_NODE=typeof process=="object"&&typeof process.versions=="object"&&typeof process.versions.node=="string";',
      "the environment flags",
    ],
    ['var scriptDirectory="";function locateFile(path){return scriptDirectory+path}', "scriptDirectory"],
    ["var _scriptDir = typeof document !== 'undefined' && document.currentScript ? document.currentScript.src : undefined;", "_scriptDir"],
    ['Module["preloadedImages"]={};Module["preloadedAudios"]={};', "preloadedImages"],
    ["var out=console.log.bind(console);", "out (console.log: nothing prints)"],
    ["var wasmBinary;", "wasmBinary (the loader's, never the glue's)"],
  ])
    text = replaceOnce(text, leftover, "", what);
  text = dropFunction(text, "stringToUTF8Array");
  text = dropFunction(text, "lengthBytesUTF8");
  text = replaceOnce(
    text,
    "function stringToUTF8(str,outPtr,maxBytesToWrite){return stringToUTF8Array(str,HEAPU8,outPtr,maxBytesToWrite)}",
    "function stringToUTF8(str,outPtr,maxBytesToWrite){var n=UTF8Encoder.encodeInto(str,HEAPU8.subarray(outPtr,outPtr+maxBytesToWrite-1)).written;HEAPU8[outPtr+n]=0;return n}" +
      "function lengthBytesUTF8(str){return UTF8Encoder.encode(str).length}",
    "stringToUTF8",
  );
  text = replaceOnce(
    text,
    'var UTF8Decoder=new TextDecoder("utf8");',
    'var UTF8Decoder=new TextDecoder("utf8");var UTF8Encoder=new TextEncoder;',
    "UTF8Decoder",
  );
  assertGone(
    text,
    [...unused, "ENVIRONMENT_IS_WEB", "ENVIRONMENT_IS_WORKER", "ENVIRONMENT_IS_NODE", "scriptDirectory", "locateFile", "_scriptDir", "stringToUTF8Array"],
    { member: false },
  );

  // 6. The start-up the loader's one path needs. The glue runs once per core, started by
  // js/loader.ts with the compiled module in hand, and never exits:
  // - receiveInstance() runs the constructors and resolves the module's promise itself, where
  //   emcc counts run dependencies (one: the instance), queues pre-run, init and post-run
  //   callbacks (only the constructors) and calls run() when the count drops; without
  //   Module["asm"], Module["run"] and Module["calledRun"] (js/ reads none);
  // - instantiateWasm is always given and never throws (js/loader.ts: it returns at once and
  //   settles through receive()), so the glue calls it without a try/catch or a fallback;
  // - no exit() and no "unwind" (no exit runtime, no main loop): a timer callback only checks
  //   ABORT, and ExitStatus, handleException, quit_ and EXITSTATUS go;
  // - the loader compiles the wasm before the glue runs, so WebAssembly exists; the module
  //   options are only instantiateWasm, so the copy kept of them (moduleOverrides) is a no-op.
  {
    const m =
      /Module\["asm"\]=exports;(.*?)wasmMemory=Module\["asm"\]\["([\w$]+)"\];updateGlobalBufferAndViews\(wasmMemory\.buffer\);wasmTable=Module\["asm"\]\["([\w$]+)"\];addOnInit\(Module\["asm"\]\["([\w$]+)"\]\);removeRunDependency\("wasm-instantiate"\)\}addRunDependency\("wasm-instantiate"\);if\(Module\["instantiateWasm"\]\)\{try\{var exports=Module\["instantiateWasm"\]\(info,receiveInstance\);return exports\}catch\(e\)\{err\("Module\.instantiateWasm callback failed with error: "\+e\);return false\}\}readyPromiseReject\(new Error\("metachannel: the core starts only through its loader \(instantiateWasm\)"\)\);return\{\}\}/.exec(
        text,
      );
    if (!m || text.indexOf(m[0], m.index + 1) !== -1)
      throw new Error("trim-glue: receiveInstance/createWasm: not found exactly once (emcc 3.1.6 output); see scripts/trim-glue.mjs");
    const [, assigned, memory, table, ctors] = m;
    text = text.replace(
      m[0],
      `${assigned}wasmMemory=exports["${memory}"];updateGlobalBufferAndViews(wasmMemory.buffer);wasmTable=exports["${table}"];exports["${ctors}"]();readyPromiseResolve(Module)}Module["instantiateWasm"](info,receiveInstance)}`,
    );
  }
  text = replaceEach(text, [
    ["var asm=createWasm();", "createWasm();", "createWasm's call"],
    [
      'var Module=typeof createMetachannelCore!="undefined"?createMetachannelCore:{};',
      "var Module=createMetachannelCore;",
      "Module (the factory's argument, made {} if absent just above)",
    ],
    ["var moduleOverrides=Object.assign({},Module);", "", "moduleOverrides"],
    ["Object.assign(Module,moduleOverrides);moduleOverrides=null;", "", "moduleOverrides' return"],
    ["var arguments_=[];", "", "arguments_"],
    ["var quit_=(status,toThrow)=>{throw toThrow};", "", "quit_"],
    ['if(typeof WebAssembly!="object"){abort("no native wasm support detected")}', "", "the WebAssembly check"],
    ["var EXITSTATUS;", "", "EXITSTATUS"],
    ["ABORT=true;EXITSTATUS=1;", "ABORT=true;", "abort's EXITSTATUS"],
    ["var __ATPRERUN__=[];var __ATINIT__=[];var __ATPOSTRUN__=[];var runtimeInitialized=false;var runtimeExited=false;", "", "the start-up queues"],
    ["var runDependencies=0;var runDependencyWatcher=null;var dependenciesFulfilled=null;", "", "the run dependencies"],
    ["var calledRun;", "", "calledRun"],
    ["dependenciesFulfilled=function runCaller(){if(!calledRun)run();if(!calledRun)dependenciesFulfilled=runCaller};", "", "runCaller"],
    ['Module["run"]=run;run();', "", "run()"],
    [
      "function _emscripten_set_timeout(cb,msecs,userData){return setTimeout(function(){callUserCallback(function(){getWasmTableEntry(cb)(userData)})},msecs)}",
      "function _emscripten_set_timeout(cb,msecs,userData){return setTimeout(function(){if(!ABORT)getWasmTableEntry(cb)(userData)},msecs)}",
      "emscripten_set_timeout",
    ],
  ]);
  text = dropFunctions(text, [
    "preRun",
    "initRuntime",
    "postRun",
    "addOnInit",
    "addRunDependency",
    "removeRunDependency",
    "callRuntimeCallbacks",
    "handleException",
    "callUserCallback",
    "ExitStatus",
    "run",
  ]);
  once(text, "createMetachannelCore = createMetachannelCore || {};", "the factory's argument");
  if (/Module\["asm"\]|"unwind"|function _(?:exit|proc_exit)\(/.test(text))
    throw new Error('trim-glue: the glue still reads Module["asm"], or can exit or unwind (emcc 3.1.6 output, a new import?); see scripts/trim-glue.mjs');
  assertGone(text, [
    "moduleOverrides",
    "arguments_",
    "quit_",
    "EXITSTATUS",
    "__ATINIT__",
    "runtimeExited",
    "runtimeInitialized",
    "runDependencies",
    "dependenciesFulfilled",
    "calledRun",
    "callUserCallback",
    "handleException",
    "ExitStatus",
    "run",
  ]);

  // 7. Embind's registration and invoker for this surface alone (3.): every registered type is
  // one of the three, each registered once by bindings/embind_types.cpp, and a function or a
  // constant waits for its types but registers none of its own (no class, no value type), so:
  // - registerType() stores the type and wakes what waits for it, without checks that only a
  //   binding mistake fails (a type registered twice, a missing argPackAdvance);
  // - whenDependentTypesAreResolved() calls back with the types (no types of its own to
  //   register, no typeDependencies table, no InternalError);
  // - the invoker (no DYNAMIC_EXECUTION) makes its argument list per call (the shared arrays
  //   went with the class-method and destructor-stack cases: each type frees its own value),
  //   and every function returns a value (void is not among the types);
  // - readLatin1String reads the ASCII names without a 256-entry table;
  // - BindingError (a wrong argument: never, as js/ passes strings) is an Error named
  //   BindingError, without Embind's error-class factory.
  {
    const registers = [...text.matchAll(/function (__embind_register_\w+)\(/g)]
      .map((m) => m[1])
      .sort()
      .join(",");
    const expected = "__embind_register_bool,__embind_register_constant,__embind_register_float,__embind_register_function,__embind_register_std_string";
    if (registers !== expected)
      throw new Error(
        `trim-glue: Embind registers ${registers}, where this trim expects ${expected} (bindings/bindings.cpp, bindings/embind_types.cpp); see scripts/trim-glue.mjs`,
      );
    const calls = text.split("whenDependentTypesAreResolved(").length - 2; // less the definition
    const withoutOwn = text.split("whenDependentTypesAreResolved([],").length - 1;
    if (calls !== withoutOwn)
      throw new Error("trim-glue: a type waits for its dependencies with types of its own to register (emcc 3.1.6 output); see scripts/trim-glue.mjs");
  }
  text = replaceEach(text, [
    [
      'function registerType(rawType,registeredInstance,options={}){if(!("argPackAdvance"in registeredInstance)){throw new TypeError("registerType registeredInstance requires argPackAdvance")}var name=registeredInstance.name;if(!rawType){throwBindingError(\'type "\'+name+\'" must have a positive integer typeid pointer\')}if(registeredTypes.hasOwnProperty(rawType)){if(options.ignoreDuplicateRegistrations){return}else{throwBindingError("Cannot register type \'"+name+"\' twice")}}registeredTypes[rawType]=registeredInstance;delete typeDependencies[rawType];if(awaitingDependencies.hasOwnProperty(rawType)){var callbacks=awaitingDependencies[rawType];delete awaitingDependencies[rawType];callbacks.forEach(function(cb){cb()})}}',
      "function registerType(rawType,registeredInstance){registeredTypes[rawType]=registeredInstance;if(awaitingDependencies.hasOwnProperty(rawType)){var callbacks=awaitingDependencies[rawType];delete awaitingDependencies[rawType];callbacks.forEach(function(cb){cb()})}}",
      "registerType",
    ],
    [
      'function whenDependentTypesAreResolved(myTypes,dependentTypes,getTypeConverters){myTypes.forEach(function(type){typeDependencies[type]=dependentTypes});function onComplete(typeConverters){var myTypeConverters=getTypeConverters(typeConverters);if(myTypeConverters.length!==myTypes.length){throwInternalError("Mismatched type converter count")}for(var i=0;i<myTypes.length;++i){registerType(myTypes[i],myTypeConverters[i])}}var typeConverters',
      "function whenDependentTypesAreResolved(myTypes,dependentTypes,onComplete){var typeConverters",
      "whenDependentTypesAreResolved",
    ],
    ["var typeDependencies={};", "", "typeDependencies"],
    [
      'function craftInvokerFunction(humanName,argTypes,classType,cppInvokerFunc,cppTargetFunc){var argCount=argTypes.length;if(argCount<2){throwBindingError("argTypes array size mismatch! Must at least get return value and \'this\' types!")}var isClassMethodFunc=argTypes[1]!==null&&classType!==null;var needsDestructorStack=false;for(var i=1;i<argTypes.length;++i){if(argTypes[i]!==null&&argTypes[i].destructorFunction===undefined){needsDestructorStack=true;break}}var returns=argTypes[0].name!=="void";var expectedArgCount=argCount-2;var argsWired=new Array(expectedArgCount);var invokerFuncArgs=[];var destructors=[];return function(){if(arguments.length!==expectedArgCount){throwBindingError("function "+humanName+" called with "+arguments.length+" arguments, expected "+expectedArgCount+" args!")}destructors.length=0;var thisWired;invokerFuncArgs.length=isClassMethodFunc?2:1;invokerFuncArgs[0]=cppTargetFunc;if(isClassMethodFunc){thisWired=argTypes[1]["toWireType"](destructors,this);invokerFuncArgs[1]=thisWired}for(var i=0;i<expectedArgCount;++i){argsWired[i]=argTypes[i+2]["toWireType"](destructors,arguments[i]);invokerFuncArgs.push(argsWired[i])}var rv=cppInvokerFunc.apply(null,invokerFuncArgs);function onDone(rv){if(needsDestructorStack){runDestructors(destructors)}else{for(var i=isClassMethodFunc?1:2;i<argTypes.length;i++){var param=i===1?thisWired:argsWired[i-2];if(argTypes[i].destructorFunction!==null){argTypes[i].destructorFunction(param)}}}if(returns){return argTypes[0]["fromWireType"](rv)}}return onDone(rv)}}',
      // argTypes: the return type, then the arguments' (3.'s registration passes them as they come).
      'function craftInvokerFunction(humanName,argTypes,cppInvokerFunc,cppTargetFunc){var expectedArgCount=argTypes.length-1;return function(){if(arguments.length!==expectedArgCount){throwBindingError("function "+humanName+" called with "+arguments.length+" arguments, expected "+expectedArgCount+" args!")}var args=[cppTargetFunc];for(var i=1;i<=expectedArgCount;++i)args.push(argTypes[i]["toWireType"](null,arguments[i-1]));var rv=cppInvokerFunc.apply(null,args);for(i=1;i<=expectedArgCount;++i)if(argTypes[i].destructorFunction)argTypes[i].destructorFunction(args[i]);return argTypes[0]["fromWireType"](rv)}}',
      "craftInvokerFunction",
    ],
    [
      'function readLatin1String(ptr){var ret="";var c=ptr;while(HEAPU8[c]){ret+=embind_charCodes[HEAPU8[c++]]}return ret}',
      'function readLatin1String(ptr){var ret="";while(HEAPU8[ptr])ret+=String.fromCharCode(HEAPU8[ptr++]);return ret}',
      "readLatin1String",
    ],
    ["var embind_charCodes=undefined;", "", "embind_charCodes"],
    [
      "function throwBindingError(message){throw new BindingError(message)}",
      'function throwBindingError(message){var e=new Error(message);e.name="BindingError";throw e}',
      "throwBindingError",
    ],
    ['embind_init_charCodes();BindingError=extendError(Error,"BindingError");InternalError=extendError(Error,"InternalError");', "", "Embind's start-up"],
    ["var BindingError=undefined;", "", "BindingError"],
    ["var InternalError=undefined;", "", "InternalError"],
  ]);
  // argPackAdvance was read by registerType's check alone; the invoker passes no destructor
  // list (std::string's destructorFunction frees its copy).
  const packs = text.split('"argPackAdvance":8,').length - 1;
  if (packs !== 3)
    throw new Error(`trim-glue: "argPackAdvance":8 ${packs} times, expected 3 (bool, double, std::string; emcc 3.1.6 output); see scripts/trim-glue.mjs`);
  text = text.split('"argPackAdvance":8,').join("");
  // A type's name was read by the invoker's void check and the error messages that name types (gone).
  const named = "name=readLatin1String(name);registerType(rawType,{name:name,";
  if (text.split(named).length - 1 !== 3)
    throw new Error(
      "trim-glue: the three types' registrations (bool, double, std::string) not found as expected (emcc 3.1.6 output); see scripts/trim-glue.mjs",
    );
  text = text.split(named).join("registerType(rawType,{");
  text = replaceOnce(text, "if(destructors!==null){destructors.push(_free,ptr)}return ptr}", "return ptr}", "std::string's destructor list");
  text = dropFunctions(text, ["embind_init_charCodes", "createNamedFunction", "extendError", "throwInternalError", "runDestructors"]);
  assertGone(text, [
    "typeDependencies",
    "embind_charCodes",
    "BindingError",
    "InternalError",
    "extendError",
    "throwInternalError",
    "runDestructors",
    "createNamedFunction",
    "argPackAdvance",
  ]);

  // 8. Memory growth, strings and websocket.h's JS, smaller for the same result:
  // - emscripten_resize_heap() with its two helpers folded in (the 2 GB limit, the grow call);
  //   the old size is HEAPU8's, so no `buffer` variable;
  // - std::string from wasm decoded at once: a U+0000 inside decodes as itself, and the BOM a
  //   piecewise decode would drop after each one is dropped the same (Embind decodes each
  //   NUL-separated piece on its own);
  // - emscripten_websocket_close() decodes its reason once (3.1.6 decodes it twice, the
  //   first copy unused); emscripten_websocket_new() without its `typeof WebSocket` check
  //   (WebSocket is bindings/library.js's function here, always defined).
  text = replaceEach(text, [
    [
      "function _emscripten_get_heap_max(){return 2147483648}function emscripten_realloc_buffer(size){try{wasmMemory.grow(size-buffer.byteLength+65535>>>16);updateGlobalBufferAndViews(wasmMemory.buffer);return 1}catch(e){}}function _emscripten_resize_heap(requestedSize){var oldSize=HEAPU8.length;requestedSize=requestedSize>>>0;var maxHeapSize=_emscripten_get_heap_max();if(requestedSize>maxHeapSize){return false}let alignUp=(x,multiple)=>x+(multiple-x%multiple)%multiple;for(var cutDown=1;cutDown<=4;cutDown*=2){var overGrownHeapSize=oldSize*(1+.2/cutDown);overGrownHeapSize=Math.min(overGrownHeapSize,requestedSize+100663296);var newSize=Math.min(maxHeapSize,alignUp(Math.max(requestedSize,overGrownHeapSize),65536));var replacement=emscripten_realloc_buffer(newSize);if(replacement){return true}}return false}",
      "function _emscripten_resize_heap(requestedSize){var oldSize=HEAPU8.length;requestedSize=requestedSize>>>0;if(requestedSize>2147483648){return false}for(var cutDown=1;cutDown<=4;cutDown*=2){var x=Math.max(requestedSize,Math.min(oldSize*(1+.2/cutDown),requestedSize+100663296));var newSize=Math.min(2147483648,x+(65536-x%65536)%65536);try{wasmMemory.grow(newSize-oldSize+65535>>>16);updateGlobalBufferAndViews(wasmMemory.buffer);return true}catch(e){}}return false}",
      "emscripten_resize_heap",
    ],
    ["function updateGlobalBufferAndViews(buf){buffer=buf;", "function updateGlobalBufferAndViews(buf){", "updateGlobalBufferAndViews' buffer"],
    ["var buffer,", "var ", "the buffer variable"],
    [
      'var length=HEAPU32[value>>2];var str;var decodeStartPtr=value+4;for(var i=0;i<=length;++i){var currentBytePtr=value+4+i;if(i==length||HEAPU8[currentBytePtr]==0){var stringSegment=UTF8ToString(decodeStartPtr,currentBytePtr-decodeStartPtr);if(str===undefined){str=stringSegment}else{str+="\\0"+stringSegment}decodeStartPtr=currentBytePtr+1}}_free(value);return str}',
      'var str=UTF8Decoder.decode(HEAPU8.subarray(value+4,value+4+HEAPU32[value>>2])).replace(/\\0\\uFEFF/g,"\\0");_free(value);return str}',
      "std::string's fromWireType",
    ],
    ["var reasonStr=reason?UTF8ToString(reason):undefined;", "", "emscripten_websocket_close's unused reasonStr"],
    [
      'function _emscripten_websocket_new(createAttributes){if(typeof WebSocket=="undefined"){return-1}',
      "function _emscripten_websocket_new(createAttributes){",
      "emscripten_websocket_new's check",
    ],
  ]);
  once(text, "function WebSocket(url,protocols){", "bindings/library.js's WebSocket");
  assertGone(text, ["buffer", "_emscripten_get_heap_max", "emscripten_realloc_buffer"]);

  return { text, removed: before - text.length, exports: exports.length };
}
