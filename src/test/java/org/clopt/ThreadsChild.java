package org.clopt;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Calls one optimizer and one parameter set from several threads, with a close racing the
 * steps, on the device and on the reference path; prints what it saw. Run in a child JVM by
 * {@link ThreadsTest}, so that a native crash fails the test instead of ending the test run.
 */
public final class ThreadsChild {
    private ThreadsChild() {
    }

    public static void main(String[] args) throws Exception {
        try (Device device = Device.open()) {
            for (boolean onDevice : new boolean[] {true, false}) {
                try (Optimizer opt = onDevice ? Optimizer.create(device, Adam.builder().build(), 4097)
                        : Optimizer.reference(Adam.builder().build(), 4097)) {
                    hammer(opt::step, () -> opt.writeGradients(new float[4097]));
                    System.out.println((onDevice ? "device" : "reference") + " optimizer steps " + opt.stepCount());
                    System.out.println("close during steps: " + closeDuringSteps(opt::step, opt::close));
                }
                try (ParameterSet set = layout().build(device); ParameterSet ref = layout().buildReference()) {
                    ParameterSet s = onDevice ? set : ref;
                    hammer(s::step, s::zeroGrad);
                    System.out.println((onDevice ? "device" : "reference") + " set steps " + s.stepCount("a")
                            + " " + s.stepCount("b"));
                    System.out.println("close during steps: " + closeDuringSteps(s::step, s::close));
                }
            }
        }
    }

    static ParameterSet.Builder layout() {
        return ParameterSet.builder().group(AdamW.builder().build()).tensor("a", 1023)
                .group(Sgd.momentumBuilder().lr(0.1).build()).tensor("b", 3, 5);
    }

    /** Four threads: two step 1000 times each, two write gradients meanwhile. */
    private static void hammer(Runnable step, Runnable other) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            Runnable work = k < 2 ? step : other;
            threads.add(new Thread(() -> {
                try {
                    for (int i = 0; i < 1000; i++) {
                        work.run();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("a thread failed", failure.get());
        }
    }

    /** The exception a stepping thread sees once another thread closes. */
    private static String closeDuringSteps(Runnable step, Runnable close) throws InterruptedException {
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread stepper = new Thread(() -> {
            try {
                while (true) {
                    step.run();
                }
            } catch (Throwable t) {
                seen.set(t);
            }
        });
        stepper.start();
        Thread.sleep(50);
        close.run();
        stepper.join();
        return seen.get().getClass().getSimpleName() + ": " + seen.get().getMessage();
    }
}
