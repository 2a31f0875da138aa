package io.leviathan.cli;

/** A bad command line: the message says what was wrong and what is valid. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }
}
