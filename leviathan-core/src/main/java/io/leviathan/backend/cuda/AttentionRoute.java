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
    /** The last shape cuDNN took for each pass: the steady state of a training step, answered without a message. */
    private Object forwardTaken, backwardTaken;

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
     * Whether cuDNN runs this {@code pass} ("forward" or "backward") at {@code shape}, given {@code reason}, why
     * it cannot, or null when it can. A repeat of the last shape cuDNN took for a pass returns at once, so a
     * training step's calls build no message.
     *
     * @throws IllegalStateException with attention = cudnn, when {@code reason} is not null
     */
    synchronized boolean useCudnn(String pass, Object shape, String reason) {
        if (choice == AttentionChoice.NATIVE) {
            once("attention: our kernel (attention = native)");
            return false;
        }
        boolean backward = pass.equals("backward");
        if (reason == null) {
            if (shape.equals(backward ? backwardTaken : forwardTaken)) {
                return true;
            }
            once("attention: cuDNN for " + pass + " " + shape + " (attention = " + choice.configName() + ")");
            if (backward) {
                backwardTaken = shape;
            } else {
                forwardTaken = shape;
            }
            return true;
        }
        if (choice == AttentionChoice.CUDNN) {
            throw new IllegalStateException("attention = cudnn, but cuDNN cannot run " + pass + " " + shape + ": "
                    + reason);
        }
        once("attention: our kernel for " + pass + " " + shape + " (auto: " + reason + ")");
        return false;
    }

    private synchronized void once(String line) {
        if (said.add(line)) {
            log.println(line);
        }
    }
}
