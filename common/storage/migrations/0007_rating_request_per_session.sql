-- Rate's request ids were unique across the whole service, so two apps that number their keys
-- from 1 collided ("already used to rate another loop"). A key now has to be unique only within
-- its session, which is where a retry repeats it. The rating names its session, and the
-- composite reference keeps that name true to its loop's.
ALTER TABLE session.loops ADD CONSTRAINT loops_loop_session_key UNIQUE (loop_id, session_id);

ALTER TABLE session.ratings ADD COLUMN session_id uuid;
UPDATE session.ratings r SET session_id = l.session_id
  FROM session.loops l WHERE l.loop_id = r.loop_id;
ALTER TABLE session.ratings
  ALTER COLUMN session_id SET NOT NULL,
  DROP CONSTRAINT ratings_request_id_key,
  ADD CONSTRAINT ratings_session_request_key UNIQUE (session_id, request_id),
  ADD CONSTRAINT ratings_loop_session_fkey FOREIGN KEY (loop_id, session_id)
    REFERENCES session.loops (loop_id, session_id) ON DELETE CASCADE;
