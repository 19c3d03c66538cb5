-- CriticConfig.rhythm_learning_rate: the Adam rate of the rhythm branch's layer (0 = the critic's
-- learning_rate). Part of the recipe, so a worker that restores the critic trains it on as it was.
ALTER TABLE critic.critics ADD COLUMN rhythm_learning_rate double precision NOT NULL DEFAULT 0;
