-- Critics: one per user, trained from that user's ratings. Every rating makes a version; a worker
-- restores a critic from its latest version and its examples, so any worker can serve any critic.
CREATE SCHEMA critic;

CREATE TABLE critic.critics (
  critic_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  latest_version bigint NOT NULL DEFAULT 0 CHECK (latest_version >= 0),
  parameter_count bigint NOT NULL,
  -- CriticConfig, one column per hyper-parameter so operators can query them.
  learning_rate double precision NOT NULL,
  weight_decay double precision NOT NULL,
  dropout double precision NOT NULL,
  minibatches_per_rating integer NOT NULL,
  minibatch_size integer NOT NULL,
  augment_gain_stddev double precision NOT NULL,
  augment_dc_offset_stddev double precision NOT NULL,
  augment_noise_stddev double precision NOT NULL,
  augment_max_shift integer NOT NULL,
  mel_sample_rate integer NOT NULL,
  seed bigint NOT NULL  -- The uint64 seed's bits.
);

-- Rated clips in rating order: the critic's training set.
CREATE TABLE critic.examples (
  critic_id uuid NOT NULL REFERENCES critic.critics ON DELETE CASCADE,
  example_id text NOT NULL CHECK (example_id <> ''),
  seq integer NOT NULL CHECK (seq >= 1),
  liked boolean NOT NULL,
  clip bytea NOT NULL,  -- 88200 little-endian float32 samples: the steady-state bar.
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (critic_id, example_id),
  UNIQUE (critic_id, seq)
);

-- Version n is the critic after its n-th example; version 0 is the untrained critic. Only the
-- latest version keeps its optimizer state (needed to train on); every version keeps its weights.
CREATE TABLE critic.versions (
  critic_id uuid NOT NULL REFERENCES critic.critics ON DELETE CASCADE,
  version bigint NOT NULL CHECK (version >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  example_id text,
  liked_count integer NOT NULL,
  disliked_count integer NOT NULL,
  mean_loss double precision,
  model_state bytea NOT NULL,
  optimizer_state bytea,
  rng_state bytea NOT NULL,
  PRIMARY KEY (critic_id, version)
);
