/*-------------------------------------------------------------------------
 *
 * kv_compat.h
 *	  PostgreSQL version differences, kept in one place.
 *
 * kvcache targets PostgreSQL 15.  Anything that differs in 16+ goes here
 * behind PG_VERSION_NUM so that the rest of the code has one spelling.
 *
 * kvcache/kv_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KV_COMPAT_H
#define KV_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "kvcache requires PostgreSQL 15 or later"
#endif

/* ConditionVariableCancelSleep returns bool from 16 on; we ignore it */
#define KvCVCancelSleep()	((void) ConditionVariableCancelSleep())

/* Process number usable as a small array index */
#if PG_VERSION_NUM >= 170000
#include "miscadmin.h"
#define KvMyProcNumber()	(MyProcNumber)
#else
#include "storage/backendid.h"
#include "miscadmin.h"
#define KvMyProcNumber()	(MyBackendId > 0 ? MyBackendId : MyProcPid)
#endif

#endif							/* KV_COMPAT_H */
