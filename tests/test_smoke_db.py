from storage.identities import default_community


def test_migrated_database_has_default_community(db):
    with db.transaction() as session:
        assert default_community(session).slug == "wlcc-palembang"
