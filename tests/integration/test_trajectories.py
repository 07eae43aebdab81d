from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, text

from spatial.trajectories import Sighting, trajectory_uid, write_trajectories

CST = timezone(timedelta(hours=8))
CAR = "vehicle:京A12345"


def seen(lon: float, hour: int, day: int = 1) -> Sighting:
    return Sighting(CAR, lon, 50.1, datetime(2024, 5, day, hour, tzinfo=CST))


def test_sightings_become_one_line_per_day_in_time_order(spatial_engine: Engine) -> None:
    with spatial_engine.begin() as conn:
        assert (
            write_trajectories(conn, [seen(14.40, 18), seen(14.38, 8), seen(14.39, 12), seen(14.41, 9, day=2)], "t")
            == 2
        )
    with spatial_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT uid, ST_AsText(geom), jsonb_array_length(times), started_at, ended_at "
                "FROM trajectories ORDER BY uid"
            )
        ).all()
    first = rows[0]
    assert first[0] == trajectory_uid(CAR, datetime(2024, 5, 1).date())
    assert first[1] == "LINESTRING(14.38 50.1,14.39 50.1,14.4 50.1)"
    assert first[2] == 3
    assert first[3] == datetime(2024, 5, 1, 8, tzinfo=CST) and first[4] == datetime(2024, 5, 1, 18, tzinfo=CST)
    assert rows[1][1] == "LINESTRING(14.41 50.1,14.41 50.1)"


def test_a_day_that_grows_replaces_its_line(spatial_engine: Engine) -> None:
    with spatial_engine.begin() as conn:
        write_trajectories(conn, [seen(14.38, 8)], "t")
        write_trajectories(conn, [seen(14.38, 8), seen(14.39, 9)], "t")
    with spatial_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), max(ST_NPoints(geom)) FROM trajectories")).one() == (1, 2)
