-- A version's weights may be dropped once newer versions exist (dd-critic --keep_version_weights),
-- as each rating's version stores ~1.2 MB of them; its row, with the rating and loss that made
-- it, stays. Version 0 (the untrained critic, Phase II's initial critic) always keeps them, and a
-- version has its random state exactly when it has its weights.
ALTER TABLE critic.versions
  ALTER COLUMN model_state DROP NOT NULL,
  ALTER COLUMN rng_state DROP NOT NULL,
  ADD CONSTRAINT versions_weights_whole CHECK ((model_state IS NULL) = (rng_state IS NULL)),
  ADD CONSTRAINT versions_initial_weights_kept CHECK (version > 0 OR model_state IS NOT NULL);
