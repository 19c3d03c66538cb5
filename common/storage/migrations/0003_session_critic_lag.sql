-- How many ratings a Phase I loop's critic may be behind (SessionOptions.phase1_critic_lag): 0 is
-- the paper's order, 1 lets training run while the listener hears the loop. Kept as a column, not
-- only inside the options bytes, because the protocol's rules depend on it.
ALTER TABLE session.sessions
  ADD COLUMN phase1_critic_lag smallint NOT NULL DEFAULT 0 CHECK (phase1_critic_lag IN (0, 1));
