// The source of the library that holds the precompiled header (cmake/precompile_headers.cmake).
