//! Nothing here: the tests (`tests/*.rs`) name every public path of
//! heapguard-alloc, heapguard-breaker and heapguard-monitor that existed
//! when issue 25 reshaped their roots, so a path a user could reach cannot
//! be lost without a compile error. They were generated from rustdoc JSON
//! by `gen.py` (see its header) and are kept by hand since: a new public
//! path may be added to them, none may be removed.
