"""The engine: plan, apply and destroy stacks with real terraform, in dependency order.

Read top to bottom, one command's way down:

- ``context.Engine`` composes what one command shares: ``workdir`` (environment, backend,
  init), ``states``/``outputs`` (reading current state), ``timings``, the runner, locks, progress;
- ``work`` builds the command's work as data (one item per stack and action);
- ``plan``/``apply``/``validate`` hold the step of one item; ``verify`` the checks before apply;
- ``run`` turns work into scheduler tasks, wraps each step, reconciles skipped and failed items;
- ``workdir`` runs terraform (terraform/runner.py) in the stack's working setup.

Commands are thin wrappers over ``plan.plan_stacks``, ``apply.apply_plan_set``,
``destroy.plan_destroy`` and ``validate.validate_stacks``.
"""
