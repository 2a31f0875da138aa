/**
 * Leviathan core: off-heap tensors, the device-neutral {@link io.leviathan.backend.Backend} interface and
 * the pure-Java CPU backend.
 */
module io.leviathan.core {
    requires jdk.incubator.vector;
    requires io.leviathan.bindings;
    requires com.fasterxml.jackson.databind;

    exports io.leviathan;
    exports io.leviathan.tensor;
    exports io.leviathan.backend;
    exports io.leviathan.model;
    exports io.leviathan.io;
}
