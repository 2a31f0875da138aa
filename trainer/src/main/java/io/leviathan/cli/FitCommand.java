package io.leviathan.cli;

import io.leviathan.study.ScalingReport;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code ./leviathan fit DIR}: fits {@code L(N) = a N^(-alpha) + b} to the dense runs of a sweep folder and
 * places the Leviathan runs at their effective size ({@link ScalingReport}); writes DIR/report.md,
 * DIR/fit.json and DIR/scaling.png. N counts total parameters by default (as the paper's headline does);
 * {@code --params non-embedding} leaves out the input stage (table or generator). Intervals come from the
 * covariance (delta method, t); {@code --bootstrap B} adds the residual bootstrap's.
 */
@Command(name = "fit", sortOptions = false, description = "fit L(N) = a N^-alpha + b to a sweep's dense runs; Leviathan runs at their effective sizes")
final class FitCommand implements CommandBody {
    private static final ScalingReport.Options DEFAULTS = ScalingReport.Options.defaults();

    @Parameters(paramLabel = "DIR", description = "the sweep folder")
    Path dir;

    @Option(names = "--params", paramLabel = "total|non-embedding", converter = ParamsName.class,
            completionCandidates = ParamsName.class, description = "what N counts (default: total)")
    ScalingReport.Params params = DEFAULTS.params();

    @Option(names = "--bootstrap", paramLabel = "B", description = "residual-bootstrap refits, 0 = off: t intervals only (default: ${DEFAULT-VALUE})")
    int bootstrap = DEFAULTS.bootstrap();

    @Option(names = "--seed", paramLabel = "S", description = "bootstrap seed (default: ${DEFAULT-VALUE})")
    long seed = DEFAULTS.seed();

    @Option(names = "--confidence", paramLabel = "C", description = "interval confidence, in (0, 1) (default: ${DEFAULT-VALUE})")
    double confidence = DEFAULTS.confidence();

    @Spec
    CommandSpec spec;

    @Override
    public int run(PrintStream out, PrintStream err) {
        if (bootstrap < 0) {
            throw new UsageException("--bootstrap must be >= 0, got " + bootstrap);
        }
        if (!(confidence > 0 && confidence < 1)) {
            throw new UsageException("--confidence must be in (0, 1), got " + confidence);
        }
        ScalingReport.write(dir, new ScalingReport.Options(params, bootstrap, seed, confidence, Main.asTyped(spec)), out);
        return 0;
    }

    /** {@code --params}: total or non-embedding. */
    static final class ParamsName implements ITypeConverter<ScalingReport.Params>, Iterable<String> {
        @Override
        public ScalingReport.Params convert(String value) {
            try {
                return ScalingReport.Params.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("must be total or non-embedding, got '" + value + "'");
            }
        }

        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(ScalingReport.Params.values()).map(ScalingReport.Params::label).iterator();
        }
    }
}
