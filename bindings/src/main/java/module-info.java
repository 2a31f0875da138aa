/**
 * Thin FFM bindings to native libraries: one class per library, one {@link java.lang.invoke.MethodHandle}
 * per function, layouts as constants. Nothing here is meant for end users; the core module wraps it.
 */
module io.leviathan.bindings {
    exports io.leviathan.bindings;
    exports io.leviathan.bindings.openblas;
    exports io.leviathan.bindings.cuda;
}
