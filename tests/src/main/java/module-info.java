/**
 * Integration tests. This module holds no code of its own: its tests are compiled into it and see the
 * library only through the packages {@code io.leviathan.core} exports, as a project importing it would.
 */
module io.leviathan.tests {
    requires io.leviathan.core;
    requires com.fasterxml.jackson.databind;
}
