/*
 * commands.h — every heapsnap subcommand, one line each.  A command lives in
 * its own analyze/cmd_NAME.c and is added here and to the table in main.c.
 */
#ifndef HEAPSNAP_COMMANDS_H
#define HEAPSNAP_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_core(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_path(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_rss(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_types(int argc, char **argv);
int cmd_goroutines(int argc, char **argv);
int cmd_pprof(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
