package io.leviathan.backend.cuda;

/** Closes native resources in a given order, trying every one even when an earlier one fails. */
final class ClosingOrder {
    private ClosingOrder() {}

    /**
     * Closes each of {@code resources} in order (nulls skipped); the first failure is thrown once all were tried,
     * later ones suppressed in it, a checked exception wrapped in an {@link IllegalStateException}.
     */
    static void closeAll(AutoCloseable... resources) {
        RuntimeException first = null;
        for (AutoCloseable c : resources) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
