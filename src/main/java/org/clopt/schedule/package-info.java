/**
 * Learning-rate schedulers with the names, arguments, defaults and semantics of upstream
 * PyTorch's {@code torch.optim.lr_scheduler}, acting on the parameter groups of a
 * {@link org.clopt.ParameterSet}: {@link org.clopt.schedule.StepLR},
 * {@link org.clopt.schedule.MultiStepLR}, {@link org.clopt.schedule.ConstantLR},
 * {@link org.clopt.schedule.LinearLR}, {@link org.clopt.schedule.ExponentialLR},
 * {@link org.clopt.schedule.PolynomialLR}, {@link org.clopt.schedule.CosineAnnealingLR},
 * {@link org.clopt.schedule.CosineAnnealingWarmRestarts}, {@link org.clopt.schedule.CyclicLR},
 * {@link org.clopt.schedule.OneCycleLR}, {@link org.clopt.schedule.LambdaLR},
 * {@link org.clopt.schedule.MultiplicativeLR}, {@link org.clopt.schedule.SequentialLR},
 * {@link org.clopt.schedule.ChainedScheduler} and
 * {@link org.clopt.schedule.ReduceLROnPlateau}.
 *
 * <pre>{@code
 * try (ParameterSet set = ParameterSet.builder().group(Sgd.momentumBuilder().lr(0.1).build())
 *         .tensor("w", 256, 784).buildReference()) {
 *     LRScheduler warmup = new LinearLR(set, 0.01, 1.0, 100);
 *     LRScheduler cosine = new CosineAnnealingLR(set, 900);
 *     LRScheduler schedule = new SequentialLR(set, List.of(warmup, cosine), List.of(100));
 *     // or: Schedulers.of(set, List.of("LinearLR(start_factor=0.01, total_iters=100)",
 *     //                                "CosineAnnealingLR(T_max=900)"), List.of(100))
 *     for (int epoch = 0; epoch < 1000; epoch++) {
 *         ...
 *         set.step();
 *         schedule.step();
 *     }
 * }
 * }</pre>
 *
 * <p>A scheduler changes hyperparameters on the host only: it replaces a group's configuration
 * with {@link org.clopt.OptimizerConfig#with} ({@code lr}, and {@code momentum} or
 * {@code betas[0]} for CyclicLR and OneCycleLR), which the next step of the set uses. Each
 * computes in double, in PyTorch's order of operations, the chainable forms where PyTorch's
 * {@code get_lr()} has them, so its lr sequence is PyTorch's (verified against values recorded
 * from PyTorch by {@code scripts/schedules.py}). Its state, a JSON map whose {@code "type"} is the
 * PyTorch class name, is saved with the set's state dict and checkpoints: resuming from it
 * continues the sequence bit for bit. {@link org.clopt.schedule.Schedulers} makes them from
 * text specs for the command line.
 *
 * <p>Where clopt differs from PyTorch: a scheduler starts at epoch -1 only ({@code last_epoch}
 * is not an argument; resume from the state); {@code step(epoch)} is not supported; a value a
 * clopt configuration refuses (a negative lr, momentum moved between zero and non-zero) fails
 * the constructor or step, where PyTorch would set it; a scheduler governs the groups its set
 * had when it was made (ReduceLROnPlateau all of them at each step, as PyTorch's); arguments on which PyTorch fails later or computes nonsense (a step size
 * or {@code T_max} of 0, a negative step size, a non-finite number, an unknown
 * {@code scale_mode}) are refused at once; and {@code eta_min} may be given per group.
 */
package org.clopt.schedule;
