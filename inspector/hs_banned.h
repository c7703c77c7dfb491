/*
 * hs_banned.h: functions that must not be used in inspector/, turned into
 * compile errors (after git's banned.h).  Included last by heapsnap.h.
 * Use hs_buf / snprintf / strtoull / gmtime_r / localtime_r instead.
 */
#ifndef HS_BANNED_H
#define HS_BANNED_H

#define HS_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) HS_BANNED(strcpy)
#undef strcat
#define strcat(x, y) HS_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) HS_BANNED(strncpy)
#undef sprintf
#define sprintf(...) HS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) HS_BANNED(strtok)
#undef gmtime
#define gmtime(t) HS_BANNED(gmtime)
#undef localtime
#define localtime(t) HS_BANNED(localtime)
#undef atoi
#define atoi(s) HS_BANNED(atoi)

#endif /* HS_BANNED_H */
