/* SPDX-License-Identifier: MIT */
/*
 * make analyze: jansson's array iteration macro for cppcheck, which reads the code without
 * system headers (a loop without braces is otherwise an "unknown macro" to it).
 */
#define json_array_foreach(array, index, value)                                                    \
	for (index = 0; index < json_array_size(array) && (value = json_array_get(array, index)); \
	     index++)
