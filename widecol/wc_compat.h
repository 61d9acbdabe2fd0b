/*-------------------------------------------------------------------------
 *
 * wc_compat.h
 *	  PostgreSQL version differences, kept in one place.
 *
 * widecol targets PostgreSQL 15.  Anything that differs in 16+ goes here
 * behind PG_VERSION_NUM so that the rest of the code has one spelling.
 * Phase 1 only touches APIs that are the same in 15 to 17 (ProcessUtility
 * and object access hooks, the index build callbacks of TableAmRoutine,
 * reloptions helpers), so for now this header holds the version floor and
 * the one spelling of heap's routine that the other files use.
 *
 * widecol/wc_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef WC_COMPAT_H
#define WC_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "widecol requires PostgreSQL 15 or later"
#endif

/* Heap's TableAmRoutine: the callbacks a widecol table delegates to */
#include "access/tableam.h"
#define WcHeapRoutine()		GetHeapamTableAmRoutine()

/* Live-row estimate of a table's statistics entry (renamed in 16) */
#if PG_VERSION_NUM >= 160000
#define WcStatLiveTuples(entry)	((entry)->live_tuples)
#else
#define WcStatLiveTuples(entry)	((entry)->n_live_tuples)
#endif

/* True if roleid owns database dboid (object_ownercheck in 16) */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_database.h"
#include "utils/acl.h"
#define WcDatabaseOwnerCheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#include "utils/acl.h"
#define WcDatabaseOwnerCheck(dboid, roleid) \
	pg_database_ownercheck((dboid), (roleid))
#endif

#endif							/* WC_COMPAT_H */
