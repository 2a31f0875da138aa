package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CosineScheduleTest {

    @Test
    void warmupPeakAndEnd() {
        CosineSchedule s = new CosineSchedule(1e-3f, 1e-4f, 10, 110);
        assertEquals(1e-4f, s.lr(0), 1e-10);              // (0 + 1) / 10 of the peak
        assertEquals(5e-4f, s.lr(4), 1e-10);
        assertEquals(1e-3f, s.lr(9), 1e-10);              // warmup's last step reaches the peak
        assertEquals(1e-3f, s.lr(10), 1e-10);             // decay starts at the peak
        assertEquals(5.5e-4f, s.lr(60), 1e-9);            // half way: the mean of peak and floor
        double nearEnd = 1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI * 99 / 100));
        assertEquals(nearEnd, s.lr(109), 1e-9);           // the last step is just above the floor
        assertEquals(1e-4f, s.lr(110), 0);                // and past the end it stays there
        assertEquals(1e-4f, s.lr(10_000), 0);
        for (long t = 10; t < 110; t++) {
            assertTrue(s.lr(t + 1) <= s.lr(t), "monotone decay at " + t);
        }
    }

    @Test
    void noWarmupStartsAtPeak() {
        CosineSchedule s = new CosineSchedule(2e-3f, 0f, 0, 4);
        assertEquals(2e-3f, s.lr(0), 0);
        assertEquals(1e-3f, s.lr(2), 1e-9);
        assertEquals(0f, s.lr(4), 0);
    }

    @Test
    void badArguments() {
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(0f, 0f, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(1e-3f, 2e-3f, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(1e-3f, 0f, 5, 4));
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(1e-3f, 0f, 0, 10).lr(-1));
    }
}
