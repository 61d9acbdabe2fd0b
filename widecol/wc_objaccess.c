/*-------------------------------------------------------------------------
 *
 * wc_objaccess.c
 *	  object_access_hook: creation of widecol tables and changes to their
 *	  key columns, whichever command makes them.
 *
 * Key columns may not be dropped or have their type, typmod or collation
 * changed (0A000; the key defines the stored order); they may be renamed,
 * and the stored keys follow the new name.  Checking statements would miss
 * paths that reach a column indirectly (ALTER TABLE on an inheritance or
 * partitioning parent, ALTER TYPE ... CASCADE on the type of a typed table,
 * DROP TYPE ... CASCADE), so the checks sit where core reports every such
 * change to the catalogs:
 *
 *	  OAT_POST_CREATE	a new ordinary table using widecol (not a transient
 *						rewrite table: those are "internal") is recorded in
 *						the statement frame; wc_utility.c gives it its keys
 *						when the statement ends.  Materialized views using
 *						widecol are refused.
 *	  OAT_DROP			a key column about to be dropped is recorded; the
 *						statement fails at its end if the table still
 *						exists (DROP SCHEMA ... CASCADE may drop a column
 *						just before dropping its whole table).
 *	  OAT_POST_ALTER	of a column: the old row is what a catalog snapshot
 *						sees, the new one what SnapshotSelf sees (the
 *						protocol documented in objectaccess.h).  A changed
 *						type of a key column raises at once; a changed name
 *						is recorded and applied to the stored keys when the
 *						statement ends.
 *
 * The keys consulted are the ones in force during the statement
 * (WcCurrentKeys: an ALTER TABLE SET/RESET hides the stored ones).  Events
 * outside any utility statement (temporary objects removed at session
 * end) are not user DDL and are ignored.
 *
 * widecol/wc_objaccess.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "widecol.h"

static object_access_hook_type prev_object_access_hook = NULL;

/* Append a column event to list in the current frame's memory */
static List *
wc_record_event(List *list, Oid relid, const char *oldname, const char *newname)
{
	MemoryContext old = MemoryContextSwitchTo(wc_current_frame->cxt);
	WcColumnEvent *ev = palloc(sizeof(WcColumnEvent));

	ev->relid = relid;
	ev->oldname = pstrdup(oldname);
	ev->newname = newname ? pstrdup(newname) : NULL;
	list = lappend(list, ev);
	MemoryContextSwitchTo(old);
	return list;
}

/* A relation was created: record widecol tables, refuse widecol matviews */
static void
wc_relation_created(Oid relid, ObjectAccessPostCreate *arg)
{
	Relation	pgclass;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	char		relkind = 0;
	Oid			relam = InvalidOid;
	char	   *relname = NULL;

	if (arg != NULL && arg->is_internal)
		return;

	/* the new pg_class row is visible only to SnapshotSelf yet */
	pgclass = table_open(RelationRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(pgclass, ClassOidIndexId, true, SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tuple);

		relkind = form->relkind;
		relam = form->relam;
		relname = pstrdup(NameStr(form->relname));
	}
	systable_endscan(scan);
	table_close(pgclass, AccessShareLock);

	if (!WcAmIsWidecol(relam))
		return;
	if (relkind == RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialized view \"%s\" cannot use access method widecol",
						relname),
				 errhint("Create it USING heap.")));
	if (relkind != RELKIND_RELATION)
		return;
	if (wc_current_frame == NULL)
		elog(ERROR, "widecol table \"%s\" created outside a utility statement",
			 relname);

	{
		MemoryContext old = MemoryContextSwitchTo(wc_current_frame->cxt);

		wc_current_frame->created = lappend_oid(wc_current_frame->created, relid);
		MemoryContextSwitchTo(old);
	}
}

/* Column attnum of relid is about to be dropped: record it if it is a key */
static void
wc_column_dropped(Oid relid, AttrNumber attnum)
{
	WcKeys		keys;
	char	   *name;

	if (wc_current_frame == NULL || !WcRelidIsWidecol(relid) ||
		!WcCurrentKeys(relid, &keys))
		return;
	name = get_attname(relid, attnum, true);
	if (name == NULL || !WcKeysContain(&keys, name))
		return;
	wc_current_frame->dropped = wc_record_event(wc_current_frame->dropped,
												relid, name, NULL);
}

/* The pg_attribute row of (relid, attnum) as this command left it */
static HeapTuple
wc_attribute_self(Oid relid, AttrNumber attnum)
{
	Relation	pgattr;
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;

	pgattr = table_open(AttributeRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_attribute_attrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_attribute_attnum, BTEqualStrategyNumber,
				F_INT2EQ, Int16GetDatum(attnum));
	scan = systable_beginscan(pgattr, AttributeRelidNumIndexId, true,
							  SnapshotSelf, 2, keys);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		tuple = heap_copytuple(tuple);
	systable_endscan(scan);
	table_close(pgattr, AccessShareLock);
	return tuple;
}

/* Column attnum of relid was altered: refuse retyping a key, track renames */
static void
wc_column_altered(Oid relid, AttrNumber attnum)
{
	WcKeys		keys;
	HeapTuple	oldtup;
	HeapTuple	newtup;
	Form_pg_attribute oldatt;
	Form_pg_attribute newatt;

	if (!WcRelidIsWidecol(relid) || !WcCurrentKeys(relid, &keys))
		return;

	oldtup = SearchSysCacheAttNum(relid, attnum);
	if (!HeapTupleIsValid(oldtup))
		return;
	oldatt = (Form_pg_attribute) GETSTRUCT(oldtup);
	if (!WcKeysContain(&keys, NameStr(oldatt->attname)))
	{
		ReleaseSysCache(oldtup);
		return;
	}

	newtup = wc_attribute_self(relid, attnum);
	if (!HeapTupleIsValid(newtup))
	{
		ReleaseSysCache(oldtup);
		return;
	}
	newatt = (Form_pg_attribute) GETSTRUCT(newtup);

	if (oldatt->atttypid != newatt->atttypid ||
		oldatt->atttypmod != newatt->atttypmod ||
		oldatt->attcollation != newatt->attcollation)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot alter type of key column \"%s\" of widecol table \"%s\"",
						NameStr(oldatt->attname), get_rel_name(relid))));

	if (strcmp(NameStr(oldatt->attname), NameStr(newatt->attname)) != 0)
	{
		if (wc_current_frame == NULL)
			elog(ERROR, "key column \"%s\" renamed outside a utility statement",
				 NameStr(oldatt->attname));
		wc_current_frame->renamed = wc_record_event(wc_current_frame->renamed, relid,
													NameStr(oldatt->attname),
													NameStr(newatt->attname));
	}
	heap_freetuple(newtup);
	ReleaseSysCache(oldtup);
}

/* object_access_hook: dispatch relation and column events */
static void
wc_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (classId != RelationRelationId)
		return;
	switch (access)
	{
		case OAT_POST_CREATE:
			if (subId == 0)
				wc_relation_created(objectId, (ObjectAccessPostCreate *) arg);
			break;
		case OAT_DROP:
			if (subId > 0)
				wc_column_dropped(objectId, (AttrNumber) subId);
			break;
		case OAT_POST_ALTER:
			if (subId > 0)
				wc_column_altered(objectId, (AttrNumber) subId);
			break;
		default:
			break;
	}
}

/* Install the object access hook (from _PG_init) */
void
WcObjectAccessInit(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = wc_object_access;
}
