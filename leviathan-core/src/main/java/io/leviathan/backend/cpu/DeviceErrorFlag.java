package io.leviathan.backend.cpu;

import io.leviathan.backend.KernelDataException;

/**
 * The strict backend's stand-in for a device error flag: kernels record the first data error instead of
 * throwing, and the next synchronize or download throws it, as a GPU backend reports errors that its
 * kernels found while the host was already issuing later work.
 */
final class DeviceErrorFlag {
    private KernelDataException first;
    private int count;

    /** Records {@code e}: the first error is kept, later ones only counted. */
    synchronized void record(KernelDataException e) {
        if (first == null) {
            first = e;
        }
        count++;
    }

    /** Throws the first recorded error (and clears the flag), if any. */
    synchronized void throwIfSet() {
        if (first != null) {
            KernelDataException e = new KernelDataException("an operation reported bad data since the last"
                    + " synchronize" + (count > 1 ? " (" + count + " errors, the first shown)" : "") + ": "
                    + first.getMessage());
            e.initCause(first);
            first = null;
            count = 0;
            throw e;
        }
    }
}
