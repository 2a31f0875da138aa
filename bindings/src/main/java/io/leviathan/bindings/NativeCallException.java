package io.leviathan.bindings;

/** A native call returned an error status; the message names the call, the status and its description. */
public final class NativeCallException extends RuntimeException {
    private final String call;
    private final int status;

    public NativeCallException(String call, int status, String description) {
        super(call + " failed with status " + status + (description == null || description.isEmpty() ? ""
                : " (" + description + ")"));
        this.call = call;
        this.status = status;
    }

    /** The function that failed, e.g. {@code cublasGemmEx}. */
    public String call() {
        return call;
    }

    /** The status it returned. */
    public int status() {
        return status;
    }
}
