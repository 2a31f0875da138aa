package io.leviathan.backend;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The conformance suite on the CUDA backend. It runs only where {@link Backends#probe()} reports CUDA
 * available; elsewhere the class is skipped with the probe's reason as the skip message, unless the system
 * property {@value #REQUIRED_PROPERTY} is {@code true} (the GPU check sets it): then an unavailable CUDA
 * backend fails the class instead, with the same reason.
 */
@ExtendWith(CudaConformanceTest.CudaAvailable.class)
class CudaConformanceTest extends BackendConformanceTest {
    /** System property: {@code true} turns "CUDA unavailable" from a skip into a failure. */
    static final String REQUIRED_PROPERTY = "leviathan.cuda.required";

    @Override
    protected Backend newBackend() {
        return Backends.create("cuda"); // throws, naming the reason, where CUDA is unavailable
    }

    /**
     * Enabled when the probe reports CUDA available; otherwise disabled, saying why, or, with
     * {@value #REQUIRED_PROPERTY}{@code =true}, enabled anyway so that opening the backend fails the class
     * with the reason.
     */
    static final class CudaAvailable implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            BackendInfo cuda = Backends.probe().stream().filter(b -> b.name().equals("cuda")).findFirst()
                    .orElse(new BackendInfo("cuda", false, "Backends.probe() lists no cuda backend"));
            if (cuda.available()) {
                return ConditionEvaluationResult.enabled("CUDA backend available: " + cuda.detail());
            }
            return Boolean.getBoolean(REQUIRED_PROPERTY)
                    ? ConditionEvaluationResult.enabled(REQUIRED_PROPERTY + " is set: CUDA backend unavailable ("
                            + cuda.detail() + ") must fail")
                    : ConditionEvaluationResult.disabled("CUDA backend unavailable: " + cuda.detail());
        }
    }
}
