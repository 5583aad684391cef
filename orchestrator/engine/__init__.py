"""The engine: plan, apply and destroy stacks with real terraform, in dependency order.

``context.Engine`` holds what one command shares (binary, runner, locks, progress);
``plan.plan_stacks`` writes a plan set; ``apply.apply_plan_set`` applies an approved one;
``destroy`` and ``validate`` build on them. Commands are thin wrappers over these.
"""
