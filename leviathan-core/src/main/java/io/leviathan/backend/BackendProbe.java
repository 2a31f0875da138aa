package io.leviathan.backend;

import io.leviathan.bindings.cuda.CudaAvailability;
import io.leviathan.bindings.cuda.CudaLibraries;
import io.leviathan.bindings.cuda.CudaLibrary;
import io.leviathan.bindings.cuda.CudaProbe;
import jdk.incubator.vector.FloatVector;

/** Checks which backends can run on this machine. */
final class BackendProbe {
    private BackendProbe() {}

    static BackendInfo cpu() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        int threads = Runtime.getRuntime().availableProcessors();
        return new BackendInfo("cpu", true, "pure Java, Vector API " + bits + "-bit (" + lanes
                + " float lanes), " + threads + " threads");
    }

    /**
     * The CUDA probe's answer (driver, device, our kernel library, cuBLAS; run once per process): the device and the
     * library files when every check passes, else {@code "CUDA unavailable: <reason>"} from the first that failed.
     */
    static BackendInfo cuda() {
        CudaAvailability cuda = CudaProbe.probe();
        return new BackendInfo("cuda", cuda.available(), cuda.summary());
    }

    /**
     * Where our CUDA kernel library is loaded from ("path (how it was found)"), or why it is not found; asked
     * whether or not a GPU is present, so {@code leviathan info} shows which build of the kernels a run would use.
     */
    static String cudaKernelLibrary() {
        try {
            CudaLibraries.Located located = CudaLibraries.system().locate(CudaLibrary.LEVIATHAN);
            return located.location() + " (" + located.source() + ")";
        } catch (RuntimeException e) {
            return "not found: " + e.getMessage();
        }
    }
}
