-- Users, sessions, every loop presented and every rating (paper section 4.3). The session service
-- owns this schema; critics live in schema `critic` and are reached through the critic service.
CREATE SCHEMA session;

CREATE TABLE session.users (
  user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  display_name text NOT NULL DEFAULT '',
  request_id text UNIQUE,  -- CreateUser's idempotency key, when the client gave one.
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE session.sessions (
  session_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES session.users ON DELETE CASCADE,
  request_id text,  -- StartSession's idempotency key.
  options bytea NOT NULL,  -- deepdrummer.v1.SessionOptions with every default and the seed filled in.
  seed bigint NOT NULL,    -- The uint64 seed's bits (also in options), for operators' queries.
  critic_id uuid NOT NULL,
  phase1_total integer NOT NULL CHECK (phase1_total >= 1),
  phase2_per_critic integer NOT NULL CHECK (phase2_per_critic >= 0),
  -- The critic version that ended Phase I, set when its training is confirmed.
  final_critic_version bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, request_id)
);
CREATE INDEX sessions_by_user ON session.sessions (user_id, created_at, session_id);

-- A loop joins a session when it is prepared (presented_at NULL) and is shown at presented_at.
-- Position is its 1-based place in the session; (session, position) is unique, so two replicas
-- preparing the same loop cannot both insert it.
CREATE TABLE session.loops (
  loop_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES session.sessions ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 1),
  phase smallint NOT NULL CHECK (phase IN (1, 2)),
  -- 'learning' (Phase I), 'initial' or 'final' (Phase II: the critic that drew it).
  source text NOT NULL CHECK (source IN ('learning', 'initial', 'final')),
  pattern bytea NOT NULL,  -- deepdrummer.v1.DrumLoop.
  fingerprint text NOT NULL,
  critic_version bigint NOT NULL,
  score double precision NOT NULL,
  steps_taken integer NOT NULL,
  capped boolean NOT NULL,
  prepared_at timestamptz NOT NULL DEFAULT now(),
  presented_at timestamptz,
  UNIQUE (session_id, position),
  UNIQUE (session_id, fingerprint)  -- Never the same loop twice in a session.
);

-- One rating per loop; request_id makes Rate exactly-once when clients retry.
CREATE TABLE session.ratings (
  loop_id uuid PRIMARY KEY REFERENCES session.loops ON DELETE CASCADE,
  liked boolean NOT NULL,
  request_id text NOT NULL UNIQUE CHECK (request_id <> ''),
  rated_at timestamptz NOT NULL DEFAULT now()
);
