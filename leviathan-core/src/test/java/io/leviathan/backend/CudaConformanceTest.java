package io.leviathan.backend;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The conformance suite on the CUDA backend. It runs only where {@link Backends#probe()} reports CUDA
 * available; elsewhere the class is skipped with the probe's reason as the skip message (for now always:
 * this build has no CUDA backend yet).
 */
@ExtendWith(CudaConformanceTest.CudaAvailable.class)
class CudaConformanceTest extends BackendConformanceTest {
    @Override
    protected Backend newBackend() {
        return Backends.create("cuda");
    }

    /** Enabled when the probe reports CUDA available; otherwise disabled, saying why. */
    static final class CudaAvailable implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            BackendInfo cuda = Backends.probe().stream().filter(b -> b.name().equals("cuda")).findFirst()
                    .orElse(new BackendInfo("cuda", false, "Backends.probe() lists no cuda backend"));
            return cuda.available()
                    ? ConditionEvaluationResult.enabled("CUDA backend available: " + cuda.detail())
                    : ConditionEvaluationResult.disabled("CUDA backend unavailable: " + cuda.detail());
        }
    }
}
