package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need a fixture from {@code shared/} beside the checkout (the development corpus, the PyTorch
 * reference state) skip where it is absent, with a message saying how to get the full suite, but fail under
 * CI ({@code CI=true}), where the fixture is always laid out and a skip would hide a broken path.
 */
public final class SharedFixture {
    private SharedFixture() {}

    /** {@code found} when not null; else a failure under CI, a skip elsewhere. */
    public static Path require(Path found, String what) {
        if (found != null) {
            return found;
        }
        String where = what + " not found in shared/ beside or above " + Path.of("").toAbsolutePath();
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(where + " (CI=true: the CI machine lays out shared/, so a missing fixture is an error)");
        }
        Assumptions.abort(where + "; skipped. For the full suite put the project's shared/ folder (data/, reference/)"
                + " beside the checkout and run ./leviathan test again");
        return null;
    }
}
