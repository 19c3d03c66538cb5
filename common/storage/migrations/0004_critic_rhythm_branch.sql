-- CriticConfig.rhythm_branch: whether the network has the per-step onset input beside the MFCC
-- image. Existing critics are the paper's network.
ALTER TABLE critic.critics ADD COLUMN rhythm_branch boolean NOT NULL DEFAULT false;
