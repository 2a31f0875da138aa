package io.leviathan.backend.cuda;

import io.leviathan.backend.AttentionChoice;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.Set;

/**
 * Decides, per attention call, whether cuDNN or our kernel runs it, from the configured {@link AttentionChoice}
 * and why cuDNN cannot (null when it can), and says so once per distinct decision on the log stream:
 * {@code attention: cuDNN for forward B=.. T=.. H=.. Dh=..}, or
 * {@code attention: our kernel for ... (auto: <reason>)}. With {@link AttentionChoice#CUDNN} a reason is an error.
 */
final class AttentionRoute {
    private final AttentionChoice choice;
    private final PrintStream log;
    private final Set<String> said = new HashSet<>();

    AttentionRoute(AttentionChoice choice, PrintStream log) {
        this.choice = choice;
        this.log = log;
    }

    AttentionChoice choice() {
        return choice;
    }

    /** True when cuDNN should not even be asked (attention = native). */
    boolean nativeOnly() {
        return choice == AttentionChoice.NATIVE;
    }

    /**
     * Whether cuDNN runs {@code what} (a pass and shape, for messages), given {@code reason}, why it cannot, or
     * null when it can.
     *
     * @throws IllegalStateException with attention = cudnn, when {@code reason} is not null
     */
    boolean useCudnn(String what, String reason) {
        if (choice == AttentionChoice.NATIVE) {
            once("attention: our kernel (attention = native)");
            return false;
        }
        if (reason == null) {
            once("attention: cuDNN for " + what + " (attention = " + choice.configName() + ")");
            return true;
        }
        if (choice == AttentionChoice.CUDNN) {
            throw new IllegalStateException("attention = cudnn, but cuDNN cannot run " + what + ": " + reason);
        }
        once("attention: our kernel for " + what + " (auto: " + reason + ")");
        return false;
    }

    private synchronized void once(String line) {
        if (said.add(line)) {
            log.println(line);
        }
    }
}
