/* SPDX-License-Identifier: Apache-2.0
 * A separate PKCS#11 client for the compliance tests: it changes the token behind keyward's
 * back, as an attacker or a careless administrator would, through the module directly.
 *
 *   p11_plant MODULE TOKEN_LABEL PIN_FILE private-weak-key LABEL  (logged in: AES-128 of zeros)
 *   p11_plant MODULE TOKEN_LABEL -        public-object LABEL     (no PIN: a public data object)
 *   p11_plant MODULE TOKEN_LABEL PIN_FILE destroy LABEL           (every object with the label)
 *
 * SOFTHSM2_CONF must name the test token's configuration. Exit 0 on success. */
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, CK_RV rv) {
    fprintf(stderr, "p11_plant: %s: CK_RV 0x%lx\n", what, (unsigned long)rv);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: p11_plant MODULE TOKEN_LABEL PIN_FILE|- ACTION LABEL\n");
        return 2;
    }
    const char *token = argv[2], *pin_file = argv[3], *action = argv[4], *label = argv[5];
    void *module = dlopen(argv[1], RTLD_NOW);
    if (!module) return fail(dlerror(), 0);
    /* POSIX guarantees dlsym's object pointer converts to a function pointer; ISO C does not,
     * so the conversion goes through memcpy. */
    void *symbol = dlsym(module, "C_GetFunctionList");
    CK_C_GetFunctionList get = NULL;
    if (symbol) memcpy(&get, &symbol, sizeof get);
    CK_FUNCTION_LIST_PTR f = NULL;
    if (!get || get(&f) != CKR_OK) return fail("C_GetFunctionList", 0);
    CK_RV rv = f->C_Initialize(NULL);
    if (rv != CKR_OK) return fail("C_Initialize", rv);
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;
    if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) return fail("C_GetSlotList", rv);
    CK_SLOT_ID slot = 0;
    int found = 0;
    for (CK_ULONG i = 0; i < n && !found; ++i) {
        CK_TOKEN_INFO info;
        if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
        size_t len = strlen(token);
        if (len <= sizeof info.label && memcmp(info.label, token, len) == 0 &&
            (len == sizeof info.label || info.label[len] == ' ')) {
            slot = slots[i];
            found = 1;
        }
    }
    if (!found) return fail("no such token", 0);
    CK_SESSION_HANDLE s;
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) != CKR_OK)
        return fail("C_OpenSession", rv);
    if (strcmp(pin_file, "-") != 0) {
        char pin[256] = {0};
        FILE *pf = fopen(pin_file, "r");
        if (!pf || !fgets(pin, sizeof pin, pf)) return fail("reading the PIN file", 0);
        fclose(pf);
        pin[strcspn(pin, "\r\n")] = 0;
        if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))) != CKR_OK)
            return fail("C_Login", rv);
    }
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE h;
    if (strcmp(action, "private-weak-key") == 0) {
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_KEY_TYPE type = CKK_AES;
        unsigned char value[16] = {0};
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},       {CKA_KEY_TYPE, &type, sizeof type},
                            {CKA_TOKEN, &yes, sizeof yes},       {CKA_PRIVATE, &yes, sizeof yes},
                            {CKA_SENSITIVE, &no, sizeof no},     {CKA_EXTRACTABLE, &yes, sizeof yes},
                            {CKA_WRAP, &yes, sizeof yes},        {CKA_UNWRAP, &yes, sizeof yes},
                            {CKA_LABEL, (void *)label, strlen(label)},
                            {CKA_VALUE, value, sizeof value}};
        if ((rv = f->C_CreateObject(s, t, sizeof t / sizeof t[0], &h)) != CKR_OK)
            return fail("C_CreateObject", rv);
    } else if (strcmp(action, "public-object") == 0) {
        CK_OBJECT_CLASS cls = CKO_DATA;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                            {CKA_TOKEN, &yes, sizeof yes},
                            {CKA_PRIVATE, &no, sizeof no},
                            {CKA_LABEL, (void *)label, strlen(label)},
                            {CKA_VALUE, "planted", 7}};
        if ((rv = f->C_CreateObject(s, t, sizeof t / sizeof t[0], &h)) != CKR_OK)
            return fail("C_CreateObject", rv);
    } else if (strcmp(action, "destroy") == 0) {
        CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)}};
        if ((rv = f->C_FindObjectsInit(s, t, 1)) != CKR_OK) return fail("C_FindObjectsInit", rv);
        CK_OBJECT_HANDLE handles[16];
        CK_ULONG count = 0;
        if ((rv = f->C_FindObjects(s, handles, 16, &count)) != CKR_OK) return fail("C_FindObjects", rv);
        f->C_FindObjectsFinal(s);
        if (count == 0) return fail("no object with that label", 0);
        for (CK_ULONG i = 0; i < count; ++i) {
            if ((rv = f->C_DestroyObject(s, handles[i])) != CKR_OK) return fail("C_DestroyObject", rv);
        }
    } else {
        return fail("unknown action", 0);
    }
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    return 0;
}
